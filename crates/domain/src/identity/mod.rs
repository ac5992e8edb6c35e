//! Identitovigilance (RNIV / INS): identity statuses and attributes, identity
//! documents, strict identity traits (birth names, first names, birth date,
//! sex, place of birth), NIR/INS matricule, CAFAT number (New Caledonia),
//! postcodes and name search keys.
//!
//! Every validator returns the normalised value or a French error message
//! naming what is wrong.

use jiff::civil::Date;

use crate::fr::normalize_search;

// ---------------------------------------------------------------------------
// Sex
// ---------------------------------------------------------------------------

/// Sex as an INS trait (`F`, `M`, `I` for indeterminate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sex {
    Female,
    Male,
    Unknown,
}

impl Sex {
    pub const ALL: [Sex; 3] = [Sex::Female, Sex::Male, Sex::Unknown];

    /// Stable one-letter code.
    pub fn code(self) -> &'static str {
        match self {
            Sex::Female => "F",
            Sex::Male => "M",
            Sex::Unknown => "I",
        }
    }

    /// French label shown in the UI.
    pub fn label(self) -> &'static str {
        match self {
            Sex::Female => "Féminin",
            Sex::Male => "Masculin",
            Sex::Unknown => "Indéterminé",
        }
    }

    /// Accepts `F`, `M`, `I` in any case (surrounding whitespace ignored).
    pub fn from_code(s: &str) -> Option<Sex> {
        let s = s.trim();
        Sex::ALL
            .into_iter()
            .find(|x| x.code().eq_ignore_ascii_case(s))
    }
}

// ---------------------------------------------------------------------------
// Identity status (RNIV)
// ---------------------------------------------------------------------------

/// The four RNIV identity statuses, in increasing order of confidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IdentityStatus {
    Provisoire,
    Recuperee,
    Validee,
    Qualifiee,
}

impl IdentityStatus {
    pub const ALL: [IdentityStatus; 4] = [
        IdentityStatus::Provisoire,
        IdentityStatus::Recuperee,
        IdentityStatus::Validee,
        IdentityStatus::Qualifiee,
    ];

    /// Stable code stored in the database.
    pub fn code(self) -> &'static str {
        match self {
            IdentityStatus::Provisoire => "provisoire",
            IdentityStatus::Recuperee => "recuperee",
            IdentityStatus::Validee => "validee",
            IdentityStatus::Qualifiee => "qualifiee",
        }
    }

    /// French label shown in the UI.
    pub fn label(self) -> &'static str {
        match self {
            IdentityStatus::Provisoire => "Identité provisoire",
            IdentityStatus::Recuperee => "Identité récupérée",
            IdentityStatus::Validee => "Identité validée",
            IdentityStatus::Qualifiee => "Identité qualifiée",
        }
    }

    /// Accepts the stable code, ASCII case-insensitive, whitespace trimmed.
    pub fn from_code(s: &str) -> Option<IdentityStatus> {
        let s = s.trim();
        IdentityStatus::ALL
            .into_iter()
            .find(|x| x.code().eq_ignore_ascii_case(s))
    }

    /// 0 (provisoire) to 3 (qualifiée).
    pub fn rank(self) -> u8 {
        match self {
            IdentityStatus::Provisoire => 0,
            IdentityStatus::Recuperee => 1,
            IdentityStatus::Validee => 2,
            IdentityStatus::Qualifiee => 3,
        }
    }
}

/// RNIV matrix: which status the available evidence allows.
///
/// | status     | high-trust document | INSi checked |
/// |------------|---------------------|--------------|
/// | provisoire | –                   | –            |
/// | récupérée  | –                   | required     |
/// | validée    | required            | –            |
/// | qualifiée  | required            | required     |
///
/// Evidence beyond what a status requires never makes it refused (a
/// provisional identity may be kept while checks are under way).
pub fn check_status(
    status: IdentityStatus,
    high_trust_document: bool,
    insi_checked: bool,
) -> Result<(), String> {
    match status {
        IdentityStatus::Provisoire => Ok(()),
        IdentityStatus::Recuperee if !insi_checked => {
            Err("Une identité récupérée exige la vérification par le téléservice INSi.".to_string())
        }
        IdentityStatus::Validee if !high_trust_document => Err(
            "Une identité validée exige une pièce d'identité à haut niveau de confiance."
                .to_string(),
        ),
        IdentityStatus::Qualifiee if !(high_trust_document && insi_checked) => Err(
            "Une identité qualifiée exige une pièce d'identité à haut niveau de confiance \
             et la vérification par le téléservice INSi."
                .to_string(),
        ),
        _ => Ok(()),
    }
}

// ---------------------------------------------------------------------------
// Identity documents
// ---------------------------------------------------------------------------

/// Identity document presented to check an identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocumentType {
    Passeport,
    CarteIdentite,
    TitreSejour,
    ExtraitNaissance,
    LivretFamille,
    CarteVitale,
    Autre,
}

impl DocumentType {
    pub const ALL: [DocumentType; 7] = [
        DocumentType::Passeport,
        DocumentType::CarteIdentite,
        DocumentType::TitreSejour,
        DocumentType::ExtraitNaissance,
        DocumentType::LivretFamille,
        DocumentType::CarteVitale,
        DocumentType::Autre,
    ];

    /// Stable code stored in the database.
    pub fn code(self) -> &'static str {
        match self {
            DocumentType::Passeport => "passeport",
            DocumentType::CarteIdentite => "carte_identite",
            DocumentType::TitreSejour => "titre_sejour",
            DocumentType::ExtraitNaissance => "extrait_naissance",
            DocumentType::LivretFamille => "livret_famille",
            DocumentType::CarteVitale => "carte_vitale",
            DocumentType::Autre => "autre",
        }
    }

    /// French label shown in the UI.
    pub fn label(self) -> &'static str {
        match self {
            DocumentType::Passeport => "Passeport",
            DocumentType::CarteIdentite => "Carte nationale d'identité",
            DocumentType::TitreSejour => "Titre de séjour",
            DocumentType::ExtraitNaissance => "Extrait d'acte de naissance",
            DocumentType::LivretFamille => "Livret de famille",
            DocumentType::CarteVitale => "Carte Vitale",
            DocumentType::Autre => "Autre document",
        }
    }

    /// Accepts the stable code, ASCII case-insensitive, whitespace trimmed.
    pub fn from_code(s: &str) -> Option<DocumentType> {
        let s = s.trim();
        DocumentType::ALL
            .into_iter()
            .find(|x| x.code().eq_ignore_ascii_case(s))
    }

    /// High-trust documents (RNIV): passport, national identity card,
    /// residence permit. The 2024 exceptions (EHPAD residents, minors) rely
    /// on a combination of documents and are left to a human decision.
    pub fn high_trust(self) -> bool {
        matches!(
            self,
            DocumentType::Passeport | DocumentType::CarteIdentite | DocumentType::TitreSejour
        )
    }
}

// ---------------------------------------------------------------------------
// Identity attributes (RNIV)
// ---------------------------------------------------------------------------

macro_rules! code_enum_by_hand {
    ($name:ident, $what:literal) => {
        impl crate::shared::codes::CodeEnum for $name {
            const ALL: &'static [$name] = &$name::ALL;
            const WHAT: &'static str = $what;
            fn code(self) -> &'static str {
                $name::code(self)
            }
            fn label(self) -> &'static str {
                $name::label(self)
            }
            fn from_code(code: &str) -> Option<$name> {
                $name::from_code(code)
            }
        }
        crate::code_enum_impls!($name);
    };
}
code_enum_by_hand!(Sex, "sexe");
code_enum_by_hand!(IdentityStatus, "statut d'identité");
code_enum_by_hand!(DocumentType, "pièce d'identité");

crate::code_enum! {
    /// RNIV identity attributes, sorted by code.
    pub enum IdentityAttribute ("attribut d'identité") {
        CollisionAveree = "collision_averee", "Collision avérée";
        CollisionPotentielle = "collision_potentielle", "Collision potentielle";
        DoublonAvere = "doublon_avere", "Doublon avéré";
        DoublonPotentiel = "doublon_potentiel", "Doublon potentiel";
        Douteuse = "douteuse", "Identité douteuse";
        Fictive = "fictive", "Identité fictive";
        Homonyme = "homonyme", "Homonyme";
        Usurpation = "usurpation", "Usurpation suspectée";
    }
}

/// RNIV identity attributes: `(code, French label)`, sorted by code.
pub const ATTRIBUTES: &[(&str, &str)] = IdentityAttribute::TABLE;

/// Checks a list of attribute codes: trimmed, ASCII case-insensitive, blank
/// entries ignored; returns the codes deduplicated and sorted.
pub fn check_attributes(codes: &[String]) -> Result<Vec<String>, String> {
    let mut out = Vec::with_capacity(codes.len());
    for raw in codes {
        let c = raw.trim().to_ascii_lowercase();
        if c.is_empty() {
            continue;
        }
        if !ATTRIBUTES.iter().any(|(code, _)| *code == c) {
            return Err(format!("Attribut d'identité inconnu : « {} »", raw.trim()));
        }
        out.push(c);
    }
    out.sort();
    out.dedup();
    Ok(out)
}

// ---------------------------------------------------------------------------
// Birth date
// ---------------------------------------------------------------------------

const BIRTH_DATE_FORMAT_ERROR: &str =
    "Date de naissance invalide : format attendu JJ/MM/AAAA (00 pour un jour ou un mois inconnu)";

/// Earliest accepted year of birth.
pub const MIN_BIRTH_YEAR: i16 = 1880;

/// A possibly incomplete birth date (RNIV): the day may be unknown, or both
/// the day and the month. A known day with an unknown month is invalid.
///
/// The derived order (year, then month, then day, unknown before known)
/// agrees with the order of [`BirthDate::to_storage`] texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BirthDate {
    pub year: i16,
    pub month: Option<u8>,
    pub day: Option<u8>,
}

impl BirthDate {
    /// Parses `15/03/1950`, `5/3/1950`, `00/03/1950`, `00/00/1950` (also with
    /// `-` or `.` separators), ISO `1950-03-15` / `1950-03-00` / `1950-00-00`,
    /// or a bare year `1950`. Refuses impossible dates, dates after `today`
    /// and years before 1880.
    pub fn parse_fr(s: &str, today: Date) -> Result<BirthDate, String> {
        let t = s.trim();
        let is_digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
        let (y, m, d) = if is_digits(t) {
            if t.len() != 4 {
                return Err(BIRTH_DATE_FORMAT_ERROR.to_string());
            }
            (t, "0", "0")
        } else {
            let sep = ['/', '-', '.']
                .into_iter()
                .find(|&c| t.contains(c))
                .ok_or_else(|| BIRTH_DATE_FORMAT_ERROR.to_string())?;
            let parts: Vec<&str> = t.split(sep).collect();
            if parts.len() != 3 || !parts.iter().all(|p| is_digits(p)) {
                return Err(BIRTH_DATE_FORMAT_ERROR.to_string());
            }
            if parts[0].len() == 4 {
                (parts[0], parts[1], parts[2])
            } else {
                (parts[2], parts[1], parts[0])
            }
        };
        if y.len() != 4 || m.len() > 2 || d.len() > 2 {
            return Err(BIRTH_DATE_FORMAT_ERROR.to_string());
        }
        let (Ok(year), Ok(month), Ok(day)) = (y.parse::<i16>(), m.parse::<u8>(), d.parse::<u8>())
        else {
            return Err(BIRTH_DATE_FORMAT_ERROR.to_string());
        };
        let bd = BirthDate {
            year,
            month: (month != 0).then_some(month),
            day: (day != 0).then_some(day),
        };
        bd.check_shape()?;
        if year < MIN_BIRTH_YEAR {
            return Err(format!(
                "Date de naissance invalide : année {year:04} antérieure à {MIN_BIRTH_YEAR}"
            ));
        }
        if bd.earliest().is_some_and(|e| e > today) {
            return Err("Date de naissance dans le futur".to_string());
        }
        Ok(bd)
    }

    /// Checks the shape: day only with a month, month 1–12, existing date.
    fn check_shape(&self) -> Result<(), String> {
        match (self.month, self.day) {
            (None, Some(_)) => Err(
                "Date de naissance invalide : un jour connu exige un mois connu (00/00/AAAA si les deux sont inconnus)"
                    .to_string(),
            ),
            (Some(m), _) if !(1..=12).contains(&m) => Err(format!(
                "Date de naissance invalide : mois {m:02} incorrect (01 à 12, ou 00 si inconnu)"
            )),
            (Some(m), Some(d)) if self.date().is_none() => Err(format!(
                "Date de naissance invalide : le {d:02}/{m:02}/{:04} n'existe pas",
                self.year
            )),
            _ => Ok(()),
        }
    }

    /// Earliest day the person may have been born (None if malformed).
    fn earliest(&self) -> Option<Date> {
        let m = self.month.unwrap_or(1);
        let d = self.day.unwrap_or(1);
        if self.month.is_none() && self.day.is_some() {
            return None;
        }
        Date::new(self.year, i8::try_from(m).ok()?, i8::try_from(d).ok()?).ok()
    }

    /// Latest day the person may have been born (None if malformed).
    fn latest(&self) -> Option<Date> {
        if self.month.is_none() && self.day.is_some() {
            return None;
        }
        let m = i8::try_from(self.month.unwrap_or(12)).ok()?;
        match self.day {
            Some(d) => Date::new(self.year, m, i8::try_from(d).ok()?).ok(),
            None => Date::new(self.year, m, 1).ok().map(|d| d.last_of_month()),
        }
    }

    /// Storage form `YYYY-MM-DD`, `00` for an unknown month or day
    /// (`1950-03-00`, `1950-00-00`): text order is date order for years
    /// 0–9999, and equality search works.
    pub fn to_storage(&self) -> String {
        format!(
            "{:04}-{:02}-{:02}",
            self.year,
            self.month.unwrap_or(0),
            self.day.unwrap_or(0)
        )
    }

    /// Reads the storage form back; `None` if it is not exactly
    /// `YYYY-MM-DD` describing a valid (possibly incomplete) date.
    /// Neither the 1880 floor nor "not in the future" is checked here.
    pub fn from_storage(s: &str) -> Option<BirthDate> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<u16> {
            let p = &s[r];
            if p.bytes().all(|c| c.is_ascii_digit()) {
                p.parse().ok()
            } else {
                None
            }
        };
        let year = i16::try_from(num(0..4)?).ok()?;
        let month = u8::try_from(num(5..7)?).ok()?;
        let day = u8::try_from(num(8..10)?).ok()?;
        let bd = BirthDate {
            year,
            month: (month != 0).then_some(month),
            day: (day != 0).then_some(day),
        };
        bd.check_shape().ok().map(|()| bd)
    }

    /// Day and month both known.
    pub fn is_complete(&self) -> bool {
        self.month.is_some() && self.day.is_some()
    }

    /// `15/03/1950`, `00/03/1950`, `00/00/1950`.
    pub fn format_fr(&self) -> String {
        format!(
            "{:02}/{:02}/{:04}",
            self.day.unwrap_or(0),
            self.month.unwrap_or(0),
            self.year
        )
    }

    /// The calendar date when complete and valid.
    pub fn date(&self) -> Option<Date> {
        let (Some(m), Some(d)) = (self.month, self.day) else {
            return None;
        };
        Date::new(self.year, i8::try_from(m).ok()?, i8::try_from(d).ok()?).ok()
    }

    /// Age in whole years on `day`, if it can be determined: for an
    /// incomplete date, only when every possible birth day gives the same
    /// age (e.g. year only, asked on 31 December). `None` before birth.
    ///
    /// A person born on 29 February turns one year older on 1 March in
    /// common years.
    pub fn age_on(&self, day: Date) -> Option<i16> {
        let age = |birth: Date| -> Option<i16> {
            let mut years = day.year() - birth.year();
            if (day.month(), day.day()) < (birth.month(), birth.day()) {
                years -= 1;
            }
            (years >= 0).then_some(years)
        };
        let oldest = age(self.earliest()?)?;
        let youngest = age(self.latest()?)?;
        (oldest == youngest).then_some(oldest)
    }
}

// ---------------------------------------------------------------------------
// NIR / INS matricule
// ---------------------------------------------------------------------------

const NIR_FORMAT_ERROR: &str = "NIR invalide : 15 caractères attendus (13 + clé)";
const NIR_KEY_ERROR: &str = "Clé NIR invalide";

/// Numeric value of a 13-character NIR body (`2A` → `19`, `2B` → `18` at
/// the département position). `None` if malformed.
fn nir_body_value(body: &str) -> Option<u64> {
    let b = body.as_bytes();
    if b.len() != 13 {
        return None;
    }
    let mut n: u64 = 0;
    for (i, &c) in b.iter().enumerate() {
        let d = match (i, c) {
            (5, b'2') if matches!(b[6], b'A' | b'a' | b'B' | b'b') => 1,
            (6, b'A' | b'a') if b[5] == b'2' => 9,
            (6, b'B' | b'b') if b[5] == b'2' => 8,
            (_, c) if c.is_ascii_digit() => u64::from(c - b'0'),
            _ => return None,
        };
        n = n * 10 + d;
    }
    Some(n)
}

/// Key of a 13-character NIR body: `97 − (body mod 97)`, with `2A`/`2B`
/// counted as `19`/`18`. Always in 1..=97. `None` if the body is not 13
/// digits (with optionally `2A`/`2B` as the département).
pub fn nir_key(body13: &str) -> Option<u8> {
    let n = nir_body_value(body13)?;
    // n % 97 < 97, so the key fits in a u8.
    u8::try_from(97 - n % 97).ok()
}

/// Removes whitespace (incl. no-break spaces) and dots; uppercases.
fn compact_nir(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && *c != '.')
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Sex encoded in a NIR's first digit: 1, 3, 7 → male; 2, 4, 8 → female.
pub fn nir_sex(nir: &str) -> Option<Sex> {
    match compact_nir(nir).chars().next()? {
        '1' | '3' | '7' => Some(Sex::Male),
        '2' | '4' | '8' => Some(Sex::Female),
        _ => None,
    }
}

/// Validates a NIR (INS matricule): 15 characters once whitespace and dots
/// are removed, i.e. a 13-character body and a 2-digit key.
///
/// Body: sex (1, 2; 3, 4, 7, 8 for provisional numbers), year (2 digits),
/// month (01–12, or the special values 20–42 and 50–99), département (2
/// digits or `2A`/`2B`; for 97/98 the third digit sits in the commune part),
/// commune (3 digits), order number (3 digits). Returns the normalised
/// 15-character uppercase string.
pub fn validate_nir(s: &str) -> Result<String, String> {
    let n = compact_nir(s);
    if n.len() != 15 || !n.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(NIR_FORMAT_ERROR.to_string());
    }
    let b = n.as_bytes();
    let letters_only_in_dept = b
        .iter()
        .enumerate()
        .all(|(i, c)| c.is_ascii_digit() || i == 5 || i == 6);
    if !letters_only_in_dept {
        return Err(NIR_FORMAT_ERROR.to_string());
    }
    let dept = &n[5..7];
    if !(dept.bytes().all(|c| c.is_ascii_digit()) || dept == "2A" || dept == "2B") {
        return Err(format!(
            "NIR invalide : département « {dept} » incorrect (2 chiffres, ou 2A/2B pour la Corse)"
        ));
    }
    if !matches!(b[0], b'1' | b'2' | b'3' | b'4' | b'7' | b'8') {
        return Err(
            "NIR invalide : le premier chiffre (sexe) doit être 1, 2, 3, 4, 7 ou 8".to_string(),
        );
    }
    let month: u8 = n[3..5].parse().map_err(|_| NIR_FORMAT_ERROR.to_string())?;
    if !matches!(month, 1..=12 | 20..=42 | 50..=99) {
        return Err(format!(
            "NIR invalide : mois de naissance « {month:02} » incorrect (01 à 12, 20 à 42 ou 50 à 99)"
        ));
    }
    let key: u8 = n[13..15]
        .parse()
        .map_err(|_| NIR_FORMAT_ERROR.to_string())?;
    if nir_key(&n[..13]) != Some(key) {
        return Err(NIR_KEY_ERROR.to_string());
    }
    Ok(n)
}

// ---------------------------------------------------------------------------
// CAFAT (New Caledonia)
// ---------------------------------------------------------------------------

/// Maximum length of a CAFAT member number.
pub const CAFAT_MAX_DIGITS: usize = 10;

/// Validates a New Caledonian CAFAT member number: digits only once
/// whitespace is removed, leading zeros kept.
///
/// Assumption: no public specification of the CAFAT number (length, check
/// digit) was found; numbers seen in practice are short digit strings, so
/// 1 to 10 digits are accepted and no key is checked.
pub fn validate_cafat(s: &str) -> Result<String, String> {
    let n: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return Err("Numéro CAFAT invalide : chiffres uniquement".to_string());
    }
    if n.len() > CAFAT_MAX_DIGITS {
        return Err(format!(
            "Numéro CAFAT invalide : {CAFAT_MAX_DIGITS} chiffres au maximum"
        ));
    }
    Ok(n)
}

// ---------------------------------------------------------------------------
// Place of birth (INSEE code)
// ---------------------------------------------------------------------------

/// INSEE code of France itself in the country list (not "abroad").
const INSEE_FRANCE: &str = "99100";

/// Validates the INSEE code of the place of birth (5 characters):
/// metropolitan département 01–95 or `2A`/`2B` + 3 digits; overseas
/// 971xx–976xx; other collectivities 975xx, 977xx, 978xx, 984xx, 986xx,
/// 987xx; New Caledonia 988xx; born abroad 99xxx (INSEE country code,
/// except 99100 which is France). Returns the code uppercased.
pub fn validate_birthplace(code: &str) -> Result<String, String> {
    let c: String = code
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let format_error = || {
        "Lieu de naissance invalide : code INSEE à 5 caractères attendu \
         (ex. 75056, 2A004, 98818, ou 99xxx pour l'étranger)"
            .to_string()
    };
    if c.len() != 5 || !c.is_ascii() {
        return Err(format_error());
    }
    let (dept, rest) = c.split_at(2);
    if !rest.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format_error());
    }
    if dept == "2A" || dept == "2B" {
        return Ok(c);
    }
    if !dept.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format_error());
    }
    let third = rest.as_bytes()[0];
    let ok = match dept {
        "97" => matches!(third, b'1'..=b'8'),
        "98" => matches!(third, b'4' | b'6' | b'7' | b'8'),
        "99" => {
            if c == INSEE_FRANCE {
                return Err(
                    "Lieu de naissance invalide : 99100 désigne la France, pas un pays étranger ; \
                     indiquer le code INSEE de la commune de naissance"
                        .to_string(),
                );
            }
            true
        }
        _ => dept != "00" && dept != "96",
    };
    if !ok {
        return Err(format!(
            "Lieu de naissance invalide : « {} » n'est ni un département, ni une collectivité \
             d'outre-mer, ni un pays étranger (99xxx)",
            &c[..3]
        ));
    }
    Ok(c)
}

/// Born abroad: a valid `99xxx` country code other than 99100 (France).
pub fn is_abroad(code: &str) -> bool {
    validate_birthplace(code).is_ok_and(|c| c.starts_with("99"))
}

/// Born in New Caledonia: `988xx`.
pub fn is_new_caledonia(code: &str) -> bool {
    validate_birthplace(code).is_ok_and(|c| c.starts_with("988"))
}

// ---------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------

/// Maximum length of a name (or of each first name).
pub const NAME_MAX_CHARS: usize = 100;

fn is_hyphen(c: char) -> bool {
    matches!(
        c,
        '-' | '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2014}' | '\u{2212}'
    )
}

fn is_apostrophe(c: char) -> bool {
    matches!(
        c,
        '\'' | '\u{2018}' | '\u{2019}' | '\u{02BC}' | '\u{02BB}' | '`' | '\u{00B4}'
    )
}

/// Core of the RNIV/INS name normalisation, `field` naming the trait in
/// messages. Output: uppercase A–Z words separated by a single space, `-`,
/// `--` (double names of 2005–2011, kept as written) or `'`; spaces around a
/// hyphen or an apostrophe are removed. No length check.
fn normalize_name_core(s: &str, field: &str) -> Result<String, String> {
    let edge_error = || format!("{field} : doit commencer et se terminer par une lettre");
    let mut out = String::with_capacity(s.len());
    let mut pending = String::new(); // pending hyphens/apostrophes
    let mut pending_space = false;
    let mut buf = [0u8; 4];
    for c in s.chars() {
        let punct = if is_hyphen(c) {
            Some('-')
        } else if is_apostrophe(c) {
            Some('\'')
        } else {
            None
        };
        if let Some(p) = punct {
            if out.is_empty() {
                return Err(edge_error());
            }
            pending.push(p);
            continue;
        }
        if c.is_whitespace() {
            pending_space = true;
            continue;
        }
        if ('\u{0300}'..='\u{036F}').contains(&c) {
            // Combining diacritic (decomposed input): dropped after a letter.
            if !out.is_empty() && pending.is_empty() && !pending_space {
                continue;
            }
            return Err(format!(
                "{field} : lettres, espaces, traits d'union et apostrophes uniquement"
            ));
        }
        if !c.is_alphabetic() {
            return Err(format!(
                "{field} : lettres, espaces, traits d'union et apostrophes uniquement"
            ));
        }
        // Lowercase + diacritics/ligatures folded by the search normaliser.
        let folded = normalize_search(c.encode_utf8(&mut buf));
        if folded.is_empty() || !folded.bytes().all(|b| b.is_ascii_lowercase()) {
            return Err(format!(
                "{field} : caractère « {c} » non pris en charge (alphabet latin uniquement)"
            ));
        }
        if !pending.is_empty() {
            if !matches!(pending.as_str(), "-" | "--" | "'") {
                return Err(format!(
                    "{field} : séparateurs « {pending} » non autorisés (un trait d'union, \
                     un double tiret ou une apostrophe)"
                ));
            }
            out.push_str(&pending);
            pending.clear();
        } else if pending_space && !out.is_empty() {
            out.push(' ');
        }
        pending_space = false;
        out.push_str(&folded.to_ascii_uppercase());
    }
    if !pending.is_empty() {
        return Err(edge_error());
    }
    if out.is_empty() {
        return Err(format!("{field} : obligatoire"));
    }
    Ok(out)
}

fn check_name_length(name: String, field: &str) -> Result<String, String> {
    if name.len() > NAME_MAX_CHARS {
        return Err(format!("{field} : {NAME_MAX_CHARS} caractères au maximum"));
    }
    Ok(name)
}

/// Normalises a birth name the RNIV/INS way: trimmed, single spaces,
/// uppercase without diacritics (É → E, Ç → C, Œ → OE, Æ → AE, ß → SS),
/// letters, spaces, hyphens and apostrophes only (’ → '), at most 100
/// characters. Idempotent.
pub fn normalize_birth_name(s: &str) -> Result<String, String> {
    const FIELD: &str = "Nom";
    check_name_length(normalize_name_core(s, FIELD)?, FIELD)
}

/// Normalises the list of birth first names, separated by spaces or commas
/// (a composed first name keeps its hyphen: `JEAN-PIERRE`). At least one.
pub fn normalize_first_names(s: &str) -> Result<Vec<String>, String> {
    const FIELD: &str = "Prénom";
    let unified = s.replace(',', " ");
    if unified.trim().is_empty() {
        return Err("Prénom(s) de naissance : au moins un prénom est obligatoire".to_string());
    }
    let joined = normalize_name_core(&unified, FIELD)?;
    joined
        .split(' ')
        .map(|p| check_name_length(p.to_string(), FIELD))
        .collect()
}

/// Normalises the used name (nom utilisé) with the birth-name rules; blank
/// means none.
pub fn normalize_used_name(s: &str) -> Result<Option<String>, String> {
    normalize_optional_name(s, "Nom utilisé")
}

/// Same rules as [`normalize_used_name`], for the used first name (errors name « Prénom utilisé »).
pub fn normalize_used_first_name(s: &str) -> Result<Option<String>, String> {
    normalize_optional_name(s, "Prénom utilisé")
}

fn normalize_optional_name(s: &str, field: &str) -> Result<Option<String>, String> {
    if s.trim().is_empty() {
        return Ok(None);
    }
    check_name_length(normalize_name_core(s, field)?, field).map(Some)
}

// ---------------------------------------------------------------------------
// Postcode
// ---------------------------------------------------------------------------

enum PostalCountry {
    France,
    NewCaledonia,
    Other,
}

fn postal_country(country: &str) -> PostalCountry {
    match normalize_search(country).as_str() {
        "" | "france" | "fr" => PostalCountry::France,
        "nouvelle caledonie" | "nc" => PostalCountry::NewCaledonia,
        _ => PostalCountry::Other,
    }
}

/// Validates a postcode for `country` (accent/case-insensitive name; empty
/// means France; the ISO codes FR and NC are also recognised).
/// France and New Caledonia: 5 digits (inner spaces ignored), New Caledonia
/// starting with 988. Other countries: 1–10 letters, digits, spaces or
/// hyphens, returned uppercased with single spaces.
pub fn validate_postcode(code: &str, country: &str) -> Result<String, String> {
    match postal_country(country) {
        PostalCountry::France | PostalCountry::NewCaledonia => {
            let c: String = code.chars().filter(|c| !c.is_whitespace()).collect();
            if c.len() != 5 || !c.bytes().all(|b| b.is_ascii_digit()) {
                return Err("Code postal invalide : 5 chiffres attendus".to_string());
            }
            if matches!(postal_country(country), PostalCountry::NewCaledonia)
                && !c.starts_with("988")
            {
                return Err(
                    "Code postal invalide : un code postal de Nouvelle-Calédonie commence par 988"
                        .to_string(),
                );
            }
            Ok(c)
        }
        PostalCountry::Other => {
            let c = code
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .to_ascii_uppercase();
            let ok = !c.is_empty()
                && c.len() <= 10
                && c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b' ' || b == b'-');
            if !ok {
                return Err(
                    "Code postal invalide : 1 à 10 lettres, chiffres, espaces ou traits d'union"
                        .to_string(),
                );
            }
            Ok(c)
        }
    }
}

// ---------------------------------------------------------------------------
// Search key
// ---------------------------------------------------------------------------

/// Name index key for prefix search: [`normalize_search`] with every space
/// removed, so `LE GALL`, `Le-Gall`, `le’gall` and `Légall` all give
/// `legall`. Idempotent.
pub fn search_key(s: &str) -> String {
    normalize_search(s).chars().filter(|&c| c != ' ').collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn today() -> Date {
        date(2026, 5, 20)
    }

    fn bd(year: i16, month: Option<u8>, day: Option<u8>) -> BirthDate {
        BirthDate { year, month, day }
    }

    // --- enums -------------------------------------------------------------

    #[test]
    fn sex_codes() {
        for s in Sex::ALL {
            assert_eq!(Sex::from_code(s.code()), Some(s));
            assert_eq!(Sex::from_code(&s.code().to_lowercase()), Some(s));
        }
        assert_eq!(Sex::Female.code(), "F");
        assert_eq!(Sex::Male.code(), "M");
        assert_eq!(Sex::Unknown.code(), "I");
        assert_eq!(Sex::Unknown.label(), "Indéterminé");
        assert_eq!(Sex::Female.label(), "Féminin");
        assert_eq!(Sex::from_code(" m "), Some(Sex::Male));
        assert_eq!(Sex::from_code("X"), None);
        assert_eq!(Sex::from_code(""), None);
        assert_eq!(Sex::from_code("FM"), None);
    }

    #[test]
    fn code_lists() {
        use crate::shared::codes::check;
        check::<Sex>();
        check::<IdentityStatus>();
        check::<DocumentType>();
        check::<IdentityAttribute>();
        assert_eq!(ATTRIBUTES[0], ("collision_averee", "Collision avérée"));
        assert!(ATTRIBUTES.windows(2).all(|w| w[0].0 < w[1].0), "sorted by code");
    }

    #[test]
    fn status_codes_and_rank() {
        let codes: Vec<&str> = IdentityStatus::ALL.iter().map(|s| s.code()).collect();
        assert_eq!(codes, ["provisoire", "recuperee", "validee", "qualifiee"]);
        for (i, s) in IdentityStatus::ALL.into_iter().enumerate() {
            assert_eq!(usize::from(s.rank()), i);
            assert_eq!(IdentityStatus::from_code(s.code()), Some(s));
        }
        assert!(IdentityStatus::Provisoire < IdentityStatus::Qualifiee);
        assert_eq!(IdentityStatus::Qualifiee.label(), "Identité qualifiée");
        assert_eq!(IdentityStatus::Recuperee.label(), "Identité récupérée");
        assert_eq!(
            IdentityStatus::from_code("QUALIFIEE"),
            Some(IdentityStatus::Qualifiee)
        );
        assert_eq!(IdentityStatus::from_code("qualifiée"), None);
    }

    #[test]
    fn status_matrix() {
        use IdentityStatus::*;
        for (doc, insi) in [(false, false), (true, false), (false, true), (true, true)] {
            assert!(check_status(Provisoire, doc, insi).is_ok());
            assert_eq!(check_status(Recuperee, doc, insi).is_ok(), insi);
            assert_eq!(check_status(Validee, doc, insi).is_ok(), doc);
            assert_eq!(check_status(Qualifiee, doc, insi).is_ok(), doc && insi);
        }
        assert_eq!(
            check_status(Qualifiee, true, false).unwrap_err(),
            "Une identité qualifiée exige une pièce d'identité à haut niveau de confiance \
             et la vérification par le téléservice INSi."
        );
        assert!(
            check_status(Recuperee, true, false)
                .unwrap_err()
                .contains("INSi")
        );
        assert!(
            check_status(Validee, false, true)
                .unwrap_err()
                .contains("pièce d'identité")
        );
    }

    #[test]
    fn documents() {
        let high: Vec<_> = DocumentType::ALL
            .into_iter()
            .filter(|d| d.high_trust())
            .collect();
        assert_eq!(
            high,
            [
                DocumentType::Passeport,
                DocumentType::CarteIdentite,
                DocumentType::TitreSejour
            ]
        );
        assert!(!DocumentType::CarteVitale.high_trust());
        assert!(!DocumentType::LivretFamille.high_trust());
        for d in DocumentType::ALL {
            assert_eq!(DocumentType::from_code(d.code()), Some(d));
            assert!(!d.label().is_empty());
        }
        assert_eq!(DocumentType::CarteIdentite.code(), "carte_identite");
        assert_eq!(DocumentType::from_code("permis"), None);
    }

    #[test]
    fn attributes() {
        assert_eq!(ATTRIBUTES.len(), 8);
        let mut codes: Vec<&str> = ATTRIBUTES.iter().map(|a| a.0).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), 8);
        assert!(ATTRIBUTES.contains(&("usurpation", "Usurpation suspectée")));
        assert!(ATTRIBUTES.contains(&("homonyme", "Homonyme")));
        let input: Vec<String> = [
            "usurpation",
            " homonyme",
            "doublon_potentiel",
            "homonyme",
            "",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            check_attributes(&input).unwrap(),
            ["doublon_potentiel", "homonyme", "usurpation"]
        );
        assert_eq!(check_attributes(&[]).unwrap(), Vec::<String>::new());
        let err = check_attributes(&["homonyme".to_string(), "jumeau".to_string()]).unwrap_err();
        assert!(err.contains("jumeau"), "{err}");
    }

    // --- birth date ----------------------------------------------------------

    #[test]
    fn birth_date_parsing() {
        let t = today();
        let full = bd(1950, Some(3), Some(15));
        assert_eq!(BirthDate::parse_fr("15/03/1950", t), Ok(full));
        assert_eq!(BirthDate::parse_fr(" 1950-03-15 ", t), Ok(full));
        assert_eq!(BirthDate::parse_fr("15-03-1950", t), Ok(full));
        assert_eq!(BirthDate::parse_fr("15.03.1950", t), Ok(full));
        assert_eq!(
            BirthDate::parse_fr("5/3/1950", t),
            Ok(bd(1950, Some(3), Some(5)))
        );
        assert_eq!(
            BirthDate::parse_fr("00/03/1950", t),
            Ok(bd(1950, Some(3), None))
        );
        assert_eq!(
            BirthDate::parse_fr("0/3/1950", t),
            Ok(bd(1950, Some(3), None))
        );
        assert_eq!(
            BirthDate::parse_fr("00/00/1950", t),
            Ok(bd(1950, None, None))
        );
        assert_eq!(
            BirthDate::parse_fr("1950-03-00", t),
            Ok(bd(1950, Some(3), None))
        );
        assert_eq!(
            BirthDate::parse_fr("1950-00-00", t),
            Ok(bd(1950, None, None))
        );
        assert_eq!(BirthDate::parse_fr("1950", t), Ok(bd(1950, None, None)));
        assert_eq!(
            BirthDate::parse_fr("29/02/2024", t),
            Ok(bd(2024, Some(2), Some(29)))
        );
        assert_eq!(
            BirthDate::parse_fr("01/01/1880", t),
            Ok(bd(1880, Some(1), Some(1)))
        );
        assert_eq!(
            BirthDate::parse_fr("20/05/2026", t),
            Ok(bd(2026, Some(5), Some(20)))
        );
        assert_eq!(
            BirthDate::parse_fr("00/05/2026", t),
            Ok(bd(2026, Some(5), None))
        );
        assert_eq!(BirthDate::parse_fr("2026", t), Ok(bd(2026, None, None)));
    }

    #[test]
    fn birth_date_errors() {
        let t = today();
        for bad in [
            "",
            "15/03",
            "15/03/50",
            "1950/03/15x",
            "abc",
            "15 03 1950",
            "123/03/1950",
            "15/03/1950/1",
            "19500",
            "950",
            "+5/03/1950",
            "15/-3/1950",
        ] {
            assert_eq!(
                BirthDate::parse_fr(bad, t),
                Err(BIRTH_DATE_FORMAT_ERROR.to_string()),
                "{bad:?}"
            );
        }
        let err = BirthDate::parse_fr("31/02/1950", t).unwrap_err();
        assert_eq!(
            err,
            "Date de naissance invalide : le 31/02/1950 n'existe pas"
        );
        assert!(BirthDate::parse_fr("29/02/1951", t).is_err());
        assert!(
            BirthDate::parse_fr("15/13/1950", t)
                .unwrap_err()
                .contains("mois 13")
        );
        assert!(
            BirthDate::parse_fr("15/00/1950", t)
                .unwrap_err()
                .contains("mois connu")
        );
        assert!(
            BirthDate::parse_fr("1950-00-15", t)
                .unwrap_err()
                .contains("mois connu")
        );
        assert!(
            BirthDate::parse_fr("32/01/1950", t)
                .unwrap_err()
                .contains("n'existe pas")
        );
        for future in ["21/05/2026", "00/06/2026", "2027", "01/01/2030"] {
            assert_eq!(
                BirthDate::parse_fr(future, t),
                Err("Date de naissance dans le futur".to_string()),
                "{future}"
            );
        }
        assert!(
            BirthDate::parse_fr("31/12/1879", t)
                .unwrap_err()
                .contains("1880")
        );
        assert!(BirthDate::parse_fr("1879", t).unwrap_err().contains("1880"));
    }

    #[test]
    fn birth_date_storage_and_format() {
        let cases = [
            (bd(1950, Some(3), Some(15)), "1950-03-15", "15/03/1950"),
            (bd(1950, Some(3), None), "1950-03-00", "00/03/1950"),
            (bd(1950, None, None), "1950-00-00", "00/00/1950"),
            (bd(2001, Some(12), Some(1)), "2001-12-01", "01/12/2001"),
        ];
        for (d, storage, fr) in cases {
            assert_eq!(d.to_storage(), storage);
            assert_eq!(d.format_fr(), fr);
            assert_eq!(BirthDate::from_storage(storage), Some(d));
            assert_eq!(BirthDate::parse_fr(fr, today()), Ok(d));
        }
        for bad in [
            "1950-3-15",
            "1950-13-01",
            "1950-00-15",
            "1950-02-30",
            "1950/03/15",
            "",
            "19500-3-15",
            "1950-03-1a",
            "+950-03-15",
        ] {
            assert_eq!(BirthDate::from_storage(bad), None, "{bad:?}");
        }
        assert!(bd(1950, Some(3), None) < bd(1950, Some(3), Some(1)));
        assert!(bd(1950, None, None) < bd(1950, Some(1), None));
        assert!("1950-03-00" < "1950-03-01");
    }

    #[test]
    fn birth_date_completeness() {
        let full = bd(1950, Some(3), Some(15));
        assert!(full.is_complete());
        assert_eq!(full.date(), Some(date(1950, 3, 15)));
        assert!(!bd(1950, Some(3), None).is_complete());
        assert_eq!(bd(1950, Some(3), None).date(), None);
        assert_eq!(bd(1950, None, None).date(), None);
        assert_eq!(bd(1950, Some(2), Some(30)).date(), None);
    }

    #[test]
    fn ages() {
        let full = bd(1950, Some(3), Some(15));
        assert_eq!(full.age_on(date(2026, 3, 14)), Some(75));
        assert_eq!(full.age_on(date(2026, 3, 15)), Some(76));
        assert_eq!(full.age_on(date(1950, 3, 15)), Some(0));
        assert_eq!(full.age_on(date(1950, 3, 14)), None);
        // 29 February: one year older on 1 March in common years.
        let leap = bd(2000, Some(2), Some(29));
        assert_eq!(leap.age_on(date(2001, 2, 28)), Some(0));
        assert_eq!(leap.age_on(date(2001, 3, 1)), Some(1));
        assert_eq!(leap.age_on(date(2004, 2, 29)), Some(4));
        // Month only: determinable except during the birth month.
        let month = bd(1950, Some(3), None);
        assert_eq!(month.age_on(date(2026, 2, 28)), Some(75));
        assert_eq!(month.age_on(date(2026, 4, 1)), Some(76));
        assert_eq!(month.age_on(date(2026, 3, 15)), None);
        assert_eq!(month.age_on(date(2026, 3, 31)), Some(76));
        // Year only: only on 31 December.
        let year = bd(1950, None, None);
        assert_eq!(year.age_on(date(2026, 6, 1)), None);
        assert_eq!(year.age_on(date(2026, 12, 31)), Some(76));
        // Malformed values never panic.
        assert_eq!(bd(1950, None, Some(3)).age_on(date(2026, 1, 1)), None);
        assert_eq!(bd(1950, Some(13), None).age_on(date(2026, 1, 1)), None);
    }

    // --- NIR -----------------------------------------------------------------

    #[test]
    fn nir_keys() {
        assert_eq!(nir_key("1841276451089"), Some(46));
        assert_eq!(nir_key("2690519004012"), Some(28));
        // Corsica: 2A counts as 19, 2B as 18.
        assert_eq!(nir_key("269052A004012"), Some(28));
        assert_eq!(nir_key("155082B033125"), Some(50));
        assert_eq!(nir_key("1550818033125"), Some(50));
        assert_eq!(nir_key("2950198802045"), Some(35));
        assert_eq!(nir_key("184127645108"), None);
        assert_eq!(nir_key("18412764510899"), None);
        assert_eq!(nir_key("1841276X51089"), None);
        assert_eq!(nir_key("1841A76451089"), None);
        assert_eq!(nir_key("184123A451089"), None);
    }

    #[test]
    fn nir_valid_examples() {
        assert_eq!(
            validate_nir("1 84 12 76 451 089 46"),
            Ok("184127645108946".to_string())
        );
        assert_eq!(
            validate_nir("1.84.12.76.451.089.46"),
            Ok("184127645108946".to_string())
        );
        assert_eq!(
            validate_nir("2 69 05 2A 004 012 28"),
            Ok("269052A00401228".to_string())
        );
        assert_eq!(
            validate_nir("2 69 05 2a 004 012 28"),
            Ok("269052A00401228".to_string())
        );
        assert_eq!(
            validate_nir("155082B03312550"),
            Ok("155082B03312550".to_string())
        );
        // New Caledonia (988), provisional-number sex digits, special months.
        assert!(validate_nir("2 95 01 98 802 045 35").is_ok());
        let body = "7991299999001";
        assert!(validate_nir(&format!("{body}{:02}", nir_key(body).unwrap())).is_ok());
        let body = "1552099100123";
        assert!(validate_nir(&format!("{body}{:02}", nir_key(body).unwrap())).is_ok());
    }

    #[test]
    fn nir_key_errors() {
        assert_eq!(
            validate_nir("184127645108947"),
            Err("Clé NIR invalide".to_string())
        );
        assert_eq!(
            validate_nir("184127645108046"),
            Err("Clé NIR invalide".to_string())
        );
        assert_eq!(
            validate_nir("269052A00401328"),
            Err("Clé NIR invalide".to_string())
        );
        // 2A and 2B do not share keys.
        assert_eq!(
            validate_nir("269052B00401228"),
            Err("Clé NIR invalide".to_string())
        );
        assert_eq!(
            validate_nir("155082B03312551"),
            Err("Clé NIR invalide".to_string())
        );
        assert_eq!(
            validate_nir("184127645108900"),
            Err("Clé NIR invalide".to_string())
        );
        assert_eq!(
            validate_nir("184127645108999"),
            Err("Clé NIR invalide".to_string())
        );
    }

    #[test]
    fn nir_format_errors() {
        for bad in [
            "",
            "18412764510894",
            "1841276451089466",
            "1841276451O8946",
            "184127645108 9 4 6 1",
            "18412-76451089-46",
            "1841276451089É6",
        ] {
            assert_eq!(
                validate_nir(bad),
                Err(NIR_FORMAT_ERROR.to_string()),
                "{bad:?}"
            );
        }
        assert!(
            validate_nir("269052C00401228")
                .unwrap_err()
                .contains("département")
        );
        assert!(
            validate_nir("269053A00401228")
                .unwrap_err()
                .contains("département")
        );
        let sex = validate_nir("584127645108946").unwrap_err();
        assert!(sex.contains("sexe"), "{sex}");
        let month = validate_nir("184137645108946").unwrap_err();
        assert!(month.contains("mois"), "{month}");
        assert!(
            validate_nir("184007645108946")
                .unwrap_err()
                .contains("mois")
        );
        assert!(
            validate_nir("184437645108946")
                .unwrap_err()
                .contains("mois")
        );
    }

    #[test]
    fn nir_sexes() {
        assert_eq!(nir_sex("1 84 12 76 451 089 46"), Some(Sex::Male));
        assert_eq!(nir_sex("269052A00401228"), Some(Sex::Female));
        assert_eq!(nir_sex("3"), Some(Sex::Male));
        assert_eq!(nir_sex("4"), Some(Sex::Female));
        assert_eq!(nir_sex("7"), Some(Sex::Male));
        assert_eq!(nir_sex("8"), Some(Sex::Female));
        assert_eq!(nir_sex("5"), None);
        assert_eq!(nir_sex(""), None);
    }

    // --- CAFAT, birthplace, postcode -----------------------------------------

    #[test]
    fn cafat() {
        assert_eq!(validate_cafat(" 0123 456 "), Ok("0123456".to_string()));
        assert_eq!(validate_cafat("1"), Ok("1".to_string()));
        assert_eq!(validate_cafat("0000000001"), Ok("0000000001".to_string()));
        for bad in ["", "  ", "12a4", "12-34", "12.34"] {
            assert_eq!(
                validate_cafat(bad),
                Err("Numéro CAFAT invalide : chiffres uniquement".to_string()),
                "{bad:?}"
            );
        }
        assert!(
            validate_cafat("12345678901")
                .unwrap_err()
                .contains("10 chiffres")
        );
    }

    #[test]
    fn birthplaces() {
        for (input, out) in [
            ("75056", "75056"),
            ("01001", "01001"),
            ("95127", "95127"),
            ("2a004", "2A004"),
            ("2B033", "2B033"),
            ("20004", "20004"),
            ("97105", "97105"),
            ("97411", "97411"),
            ("97611", "97611"),
            ("97502", "97502"),
            ("97701", "97701"),
            ("97801", "97801"),
            ("98411", "98411"),
            ("98611", "98611"),
            ("98735", "98735"),
            ("98818", "98818"),
            (" 99134 ", "99134"),
            ("99352", "99352"),
        ] {
            assert_eq!(validate_birthplace(input), Ok(out.to_string()), "{input}");
        }
        for bad in [
            "", "7505", "750561", "2C004", "2A0O4", "AB123", "00123", "96123", "97012", "97912",
            "98512", "98912", "98012", "9A123", "75O56", "7505é",
        ] {
            assert!(validate_birthplace(bad).is_err(), "{bad:?}");
        }
        let france = validate_birthplace("99100").unwrap_err();
        assert!(
            france.contains("99100") && france.contains("France"),
            "{france}"
        );
        assert!(is_abroad("99134"));
        assert!(!is_abroad("99100"));
        assert!(!is_abroad("75056"));
        assert!(!is_abroad("99"));
        assert!(is_new_caledonia("98818"));
        assert!(is_new_caledonia(" 98801"));
        assert!(!is_new_caledonia("98718"));
        assert!(!is_new_caledonia("988"));
    }

    #[test]
    fn postcodes() {
        assert_eq!(validate_postcode("75013", ""), Ok("75013".to_string()));
        assert_eq!(
            validate_postcode(" 75 013 ", "France"),
            Ok("75013".to_string())
        );
        assert_eq!(
            validate_postcode("20000", "FRANCE"),
            Ok("20000".to_string())
        );
        assert_eq!(
            validate_postcode("98800", "Nouvelle-Calédonie"),
            Ok("98800".to_string())
        );
        assert_eq!(
            validate_postcode("98890", "nouvelle caledonie"),
            Ok("98890".to_string())
        );
        assert_eq!(validate_postcode("98800", "NC"), Ok("98800".to_string()));
        for (code, country) in [
            ("7501", ""),
            ("750133", "France"),
            ("7501A", "france"),
            ("", ""),
        ] {
            assert_eq!(
                validate_postcode(code, country),
                Err("Code postal invalide : 5 chiffres attendus".to_string())
            );
        }
        assert!(
            validate_postcode("75013", "Nouvelle-Calédonie")
                .unwrap_err()
                .contains("988")
        );
        assert_eq!(
            validate_postcode("sw1a  1aa", "Royaume-Uni"),
            Ok("SW1A 1AA".to_string())
        );
        assert_eq!(
            validate_postcode("1000", "Belgique"),
            Ok("1000".to_string())
        );
        assert_eq!(
            validate_postcode("100-0001", "Japon"),
            Ok("100-0001".to_string())
        );
        for bad in ["", "12345678901", "12#45", "ÅB12"] {
            assert!(validate_postcode(bad, "Vanuatu").is_err(), "{bad:?}");
        }
    }

    // --- names -----------------------------------------------------------------

    #[test]
    fn birth_names() {
        for (input, out) in [
            ("  Dupont ", "DUPONT"),
            ("Le   Gall", "LE GALL"),
            ("Lefèvre-Ségur", "LEFEVRE-SEGUR"),
            ("d’Arc", "D'ARC"),
            ("D ' Arc", "D'ARC"),
            ("Jean - Pierre", "JEAN-PIERRE"),
            ("Çelik", "CELIK"),
            ("Lœwy", "LOEWY"),
            ("ŒUVRARD", "OEUVRARD"),
            ("Lætitia", "LAETITIA"),
            ("Straße", "STRASSE"),
            ("Müller", "MULLER"),
            ("Ngo\u{0301}", "NGO"),
            ("Dupont--Durand", "DUPONT--DURAND"),
            ("N\u{2019}GUYEN", "N'GUYEN"),
            ("o`brien", "O'BRIEN"),
            ("Waïa\tTeuru", "WAIA TEURU"),
        ] {
            assert_eq!(
                normalize_birth_name(input),
                Ok(out.to_string()),
                "{input:?}"
            );
        }
    }

    #[test]
    fn birth_name_errors() {
        let symbols = "Nom : lettres, espaces, traits d'union et apostrophes uniquement";
        for bad in [
            "Dupont2",
            "Dupont.",
            "Du_pont",
            "Louis XIV (roi)",
            "A&B",
            "3",
        ] {
            assert_eq!(
                normalize_birth_name(bad),
                Err(symbols.to_string()),
                "{bad:?}"
            );
        }
        assert!(
            normalize_birth_name("")
                .unwrap_err()
                .contains("obligatoire")
        );
        assert!(
            normalize_birth_name("   ")
                .unwrap_err()
                .contains("obligatoire")
        );
        for edge in ["-Dupont", "Dupont-", "'Arc", "Arc'", "-", "Dupont -"] {
            assert!(
                normalize_birth_name(edge).unwrap_err().contains("lettre"),
                "{edge:?}"
            );
        }
        assert!(
            normalize_birth_name("A---B")
                .unwrap_err()
                .contains("séparateurs")
        );
        assert!(
            normalize_birth_name("A-'B")
                .unwrap_err()
                .contains("séparateurs")
        );
        assert!(
            normalize_birth_name("Иванов")
                .unwrap_err()
                .contains("latin")
        );
        assert_eq!(normalize_birth_name(&"A".repeat(100)), Ok("A".repeat(100)));
        assert!(
            normalize_birth_name(&"A".repeat(101))
                .unwrap_err()
                .contains("100")
        );
        // Length counted after folding: 60 Œ become 120 letters.
        assert!(normalize_birth_name(&"Œ".repeat(60)).is_err());
    }

    #[test]
    fn first_names() {
        assert_eq!(
            normalize_first_names("Jean-Pierre, Marie  Élodie"),
            Ok(vec![
                "JEAN-PIERRE".to_string(),
                "MARIE".into(),
                "ELODIE".into()
            ])
        );
        assert_eq!(normalize_first_names(" Zoé "), Ok(vec!["ZOE".to_string()]));
        assert_eq!(
            normalize_first_names("Anne,,Sophie"),
            Ok(vec!["ANNE".to_string(), "SOPHIE".into()])
        );
        assert!(
            normalize_first_names("")
                .unwrap_err()
                .contains("au moins un")
        );
        assert!(
            normalize_first_names(" , ")
                .unwrap_err()
                .contains("au moins un")
        );
        assert_eq!(
            normalize_first_names("Jean2"),
            Err("Prénom : lettres, espaces, traits d'union et apostrophes uniquement".to_string())
        );
        assert!(normalize_first_names(&"B".repeat(101)).is_err());
        let many = vec!["C".repeat(60); 3].join(" ");
        assert_eq!(normalize_first_names(&many).unwrap().len(), 3);
    }

    #[test]
    fn used_names() {
        assert_eq!(normalize_used_name("  "), Ok(None));
        assert_eq!(normalize_used_name(""), Ok(None));
        assert_eq!(
            normalize_used_name("Martin-Leroy"),
            Ok(Some("MARTIN-LEROY".to_string()))
        );
        let err = normalize_used_name("M@rtin").unwrap_err();
        assert!(err.starts_with("Nom utilisé"), "{err}");
    }

    // --- search key ------------------------------------------------------------

    #[test]
    fn search_keys() {
        for s in [
            "LE GALL",
            "Le-Gall",
            "le’gall",
            "Légall",
            " le  gall ",
            "LÉ'GALL",
        ] {
            assert_eq!(search_key(s), "legall", "{s:?}");
        }
        assert_eq!(search_key("Cœur"), "coeur");
        assert_eq!(search_key(""), "");
        assert_eq!(search_key(&search_key("D'Arc-Dupré")), "darcdupre");
    }
}
