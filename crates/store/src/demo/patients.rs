//! About 300 demo patients across both establishments: names as found in
//! metropolitan France and in New Caledonia, incomplete birth dates, dependants,
//! a deceased patient, non-disclosure cases and a few near-duplicates left for the
//! identity-vigilance work. Deterministic (a fixed pseudo-random sequence).

use quittance_domain::identity;

use crate::actor::Actor;
use crate::db::Db;
use crate::error::Error;
use crate::patients::{self, DebtorInput, PatientInput};

/// A small deterministic pseudo-random sequence (xorshift), for demo and benchmark data.
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn pick<'a>(&mut self, v: &[&'a str]) -> &'a str {
        v[(self.next() % v.len() as u64) as usize]
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const METRO_NAMES: &[&str] = &[
    "Martin", "Bernard", "Thomas", "Petit", "Robert", "Richard", "Durand", "Dubois", "Moreau", "Laurent", "Simon", "Michel",
    "Lefèvre", "Leroy", "Roux", "David", "Bertrand", "Morel", "Fournier", "Girard", "Bonnet", "Dupont", "Lambert", "Fontaine",
    "Rousseau", "Vincent", "Muller", "Le Gall", "Le Roux", "N'Diaye", "Da Silva", "Ferreira", "Garcia", "Benoît", "Chevalier",
    "François", "Mercier", "Guérin", "Boyer", "Gauthier", "Perrin", "Barbier", "Lemaître", "Kerjean", "Le Bihan",
];
const METRO_F: &[&str] = &[
    "Marie", "Nathalie", "Isabelle", "Sylvie", "Catherine", "Chloé", "Léa", "Camille", "Manon", "Inès", "Jeanne", "Hélène",
    "Anne-Sophie", "Marie-Claire", "Françoise", "Monique", "Zoé", "Emma", "Louise", "Noémie",
];
const METRO_M: &[&str] = &[
    "Jean", "Pierre", "Michel", "Philippe", "Alain", "Nicolas", "Lucas", "Hugo", "Théo", "Jean-Pierre", "François", "Jérôme",
    "Maël", "Louis", "Gabriel", "Raphaël", "Yves", "Bernard", "Éric", "Mathis",
];
const METRO_PLACES: &[(&str, &str)] = &[
    ("69123", "Lyon"), ("75056", "Paris"), ("13055", "Marseille"), ("2A004", "Ajaccio"), ("29019", "Brest"),
    ("38185", "Grenoble"), ("42218", "Saint-Étienne"), ("01053", "Bourg-en-Bresse"), ("33063", "Bordeaux"), ("59350", "Lille"),
];
const NC_NAMES: &[&str] = &[
    "Wamytan", "Goromido", "Naisseline", "Wahetra", "Kapoeri", "Tuilagi", "Feleu", "Lauvea", "Mapou", "Hnawia", "Xowie",
    "Waia", "Pouye", "Tein", "Gope", "Nirua", "Sihaze", "Briault", "Courtot", "Lafleur", "Metzdorf", "Paoletti", "Leques",
    "Nguyen", "Tran", "Takatai", "Falelavaki", "Manuohalalo", "Tuifua", "Soemardji", "Wayaridri", "Kaloi", "Ihage",
];
const NC_F: &[&str] = &[
    "Pauline", "Yvette", "Joséphine", "Séverine", "Malia", "Losa", "Sylvie", "Marie-Thérèse", "Océane", "Manuella",
    "Kamélia", "Anne-Marie", "Wanda", "Tahitia",
];
const NC_M: &[&str] = &[
    "Jean-Marie", "Emmanuel", "Louis-Joseph", "Kévin", "Tevita", "Soane", "Filipo", "Simione", "Rock", "Dick", "Wassissi",
    "Petelo", "Yannick", "Steeve",
];
const NC_PLACES: &[(&str, &str)] = &[
    ("98818", "Nouméa"), ("98817", "Le Mont-Dore"), ("98821", "Païta"), ("98805", "Dumbéa"), ("98803", "Bourail"),
    ("98814", "Lifou"), ("98815", "Maré"),
];
const NC_STREETS: &[&str] = &["rue de Sébastopol", "route de l'Anse-Vata", "rue Jules-Ferry", "avenue du Maréchal-Foch", "rue Higginson", "lotissement Pierre-Lenquete"];
const METRO_STREETS: &[&str] = &["rue de la République", "avenue Jean-Jaurès", "rue Victor-Hugo", "boulevard des Belges", "chemin des Lilas", "place Bellecour"];

/// Seeds the demo patients; `hsm` and `dpass` are (establishment id, site ids).
pub async fn seed(db: &Db, hsm: (i64, &[i64]), dpass: (i64, &[i64])) -> Result<usize, Error> {
    let op = Actor::system("demo");
    let mut rng = Rng(0x5EED_2026_1122);
    let mut total = 0;
    for (caledonian, (est, sites), count) in [(false, hsm, 180usize), (true, dpass, 120usize)] {
        let mut rows = Vec::new();
        for i in 0..count {
            let female = rng.below(2) == 0;
            let (names, firsts, places, streets) = if caledonian {
                (NC_NAMES, if female { NC_F } else { NC_M }, NC_PLACES, NC_STREETS)
            } else {
                (METRO_NAMES, if female { METRO_F } else { METRO_M }, METRO_PLACES, METRO_STREETS)
            };
            let born_abroad = !caledonian && rng.below(15) == 0;
            let (place_code, place_label) = if born_abroad {
                *[("99134", "Espagne"), ("99350", "Maroc"), ("99352", "Algérie"), ("99139", "Portugal")].get(rng.below(4) as usize).unwrap_or(&("99134", "Espagne"))
            } else {
                places[rng.below(places.len() as u64) as usize]
            };
            let year = 1930 + rng.below(94) as i32;
            let month = 1 + rng.below(12) as u32;
            let day = 1 + rng.below(28) as u32;
            let incomplete = i % 37 == 5;
            let birth_date = if incomplete {
                if i % 2 == 0 { format!("00/00/{year}") } else { format!("00/{month:02}/{year}") }
            } else {
                format!("{day:02}/{month:02}/{year}")
            };
            let birth_name = rng.pick(names).to_string();
            let first = rng.pick(firsts).to_string();
            let second = rng.pick(firsts).to_string();
            let married = female && year < 1995 && rng.below(3) == 0;
            let used_name = if married { rng.pick(names).to_string() } else { String::new() };
            let status_roll = rng.below(10);
            let (status, doc_type, doc_number, insi) = match status_roll {
                0..=2 => ("provisoire", "", String::new(), false),
                3 => ("recuperee", "", String::new(), true),
                4..=6 => ("validee", "carte_identite", format!("{:012}", rng.below(1_000_000_000_000)), false),
                _ => ("qualifiee", "passeport", format!("{:02}AB{:05}", rng.below(100), rng.below(100_000)), true),
            };
            let status = if incomplete && status != "provisoire" { "provisoire" } else { status };
            let (doc_type, doc_number, insi) = if status == "provisoire" { ("", String::new(), false) } else { (doc_type, doc_number, insi) };
            let nir = if !caledonian && !incomplete && !born_abroad && (status == "qualifiee" || rng.below(2) == 0) {
                let dept = &place_code[..2];
                let commune = &place_code[2..];
                let body = format!("{}{:02}{month:02}{dept}{commune}{:03}", if female { 2 } else { 1 }, year % 100, 1 + rng.below(998));
                identity::nir_key(&body).map(|k| format!("{body}{k:02}")).unwrap_or_default()
            } else {
                String::new()
            };
            let status = if status == "qualifiee" && nir.is_empty() { "validee" } else { status };
            let insi = insi && status != "validee";
            let cafat = if caledonian { format!("{}", 100_000 + rng.below(899_999)) } else { String::new() };
            let (postcode, city) = if caledonian {
                match place_label {
                    "Le Mont-Dore" => ("98809", "Le Mont-Dore"),
                    "Païta" => ("98890", "Païta"),
                    "Dumbéa" => ("98835", "Dumbéa"),
                    "Bourail" => ("98870", "Bourail"),
                    _ => ("98800", "Nouméa"),
                }
            } else {
                match rng.below(3) {
                    0 => ("69003", "Lyon"),
                    1 => ("69100", "Villeurbanne"),
                    _ => ("69500", "Bron"),
                }
            };
            let input = PatientInput {
                birth_name,
                used_name,
                birth_first_names: format!("{first} {second}"),
                birth_date,
                sex: if female { "F".into() } else { "M".into() },
                birth_place_code: place_code.into(),
                birth_place_label: place_label.into(),
                identity_status: status.into(),
                doc_type: doc_type.into(),
                doc_number,
                insi_checked: insi,
                nir,
                cafat_number: cafat,
                address_line1: format!("{} {}", 1 + rng.below(120), rng.pick(streets)),
                postcode: postcode.into(),
                city: city.into(),
                country: if caledonian { "Nouvelle-Calédonie".into() } else { "France".into() },
                mobile: if caledonian { format!("{:02} {:02} {:02}", 70 + rng.below(30), rng.below(100), rng.below(100)) } else { format!("06 {:02} {:02} {:02} {:02}", rng.below(100), rng.below(100), rng.below(100), rng.below(100)) },
                language: if caledonian && rng.below(4) == 0 { "drehu".into() } else { "français".into() },
                non_disclosure: i % 61 == 7,
                date_of_death: if i == 42 { "03/11/2026".into() } else { String::new() },
                site_id: sites[i % sites.len()].to_string(),
                ..Default::default()
            };
            rows.push(input);
        }
        // Near-duplicates for the identity-vigilance work.
        let twin = |base: &PatientInput, f: &dyn Fn(&mut PatientInput)| {
            let mut t = base.clone();
            t.identity_status = "provisoire".into();
            t.doc_type.clear();
            t.doc_number.clear();
            t.insi_checked = false;
            t.nir.clear();
            f(&mut t);
            t
        };
        let mut extra = vec![
            twin(&rows[10], &|t| t.birth_name = format!("{}E", t.birth_name)),
            twin(&rows[11], &|t| t.birth_first_names = t.birth_first_names.split(' ').next().unwrap_or("").to_string()),
            twin(&rows[12], &|t| t.birth_place_code = if caledonian { "98805".into() } else { "69123".into() }),
        ];
        if !caledonian {
            extra.push(twin(&rows[13], &|t| {
                t.birth_name = "Le Gall".into();
            }));
            let mut lg = rows[14].clone();
            lg.birth_name = "Legall".into();
            extra.push(lg);
        }
        rows.extend(extra);

        let mut tx = db.begin().await?;
        let today = jiff::civil::date(2026, 11, 22);
        let mut ids = Vec::new();
        for input in &rows {
            let d = quittance_domain::patients::input::parse_patient(input, today)
                .map_err(|e| Error::Integrity(format!("patient de démonstration invalide : {e}")))?;
            let p = patients::insert(&mut tx, &op, est, d.site_id, &d.data).await?;
            ids.push((p.id, p.birth_name.clone(), p.first_name.clone(), p.birth_date.clone()));
        }
        tx.commit().await?;
        total += rows.len();

        // Debtors: the patient for most; dependants (minors) are guaranteed by the insured parent.
        for (k, (id, name, _first, birth)) in ids.iter().enumerate() {
            let year: i32 = birth[..4].parse().unwrap_or(1980);
            let minor = year >= 2009;
            let input = if minor {
                DebtorInput {
                    kind: "assure".into(),
                    name: format!("{} {}", name, if k % 2 == 0 { "Jean" } else { "Marie" }),
                    relationship: if k % 2 == 0 { "père".into() } else { "mère".into() },
                    address_line1: rows[k].address_line1.clone(),
                    postcode: rows[k].postcode.clone(),
                    city: rows[k].city.clone(),
                    country: rows[k].country.clone(),
                    guarantees: "sejour,actes,forfait_journalier,chambre_particuliere,prestations_annexes".into(),
                    is_default: true,
                    ..Default::default()
                }
            } else if k % 9 == 4 {
                continue; // a few files without a debtor, to be completed at the desk
            } else {
                DebtorInput {
                    kind: "patient".into(),
                    address_line1: rows[k].address_line1.clone(),
                    postcode: rows[k].postcode.clone(),
                    city: rows[k].city.clone(),
                    country: rows[k].country.clone(),
                    guarantees: "sejour,actes,forfait_journalier,chambre_particuliere,prestations_annexes".into(),
                    is_default: true,
                    ..Default::default()
                }
            };
            let d = patients::parse_debtor(&input).map_err(|e| Error::Integrity(format!("débiteur de démonstration invalide : {e}")))?;
            patients::save_debtor(db, &op, *id, None, &d).await?;
        }
    }
    Ok(total)
}
