//! The table of billing rule cases: each values and splits a stay (or acts) with the
//! territory's parameter set as shipped (`crates/store/data/territory/*-parametres.csv`) and
//! names the paragraph it implements. Amounts are in minor units.

use jiff::civil::{Date, DateTime, date, datetime};
use quittance_domain::billing::Period;
use quittance_domain::billing::days::StayTimes;
use quittance_domain::billing::input::{ParameterInput, parse_parameter};
use quittance_domain::billing::parameters::{Parameter, ParameterSet};
use quittance_domain::billing::split::{Agreement, Cover, Party, Split, SplitContext, split};
use quittance_domain::billing::tariffs::{Coefficient, TariffCategory, TariffLine, Unit};
use quittance_domain::billing::valuation::{Charge, StayActivity, value_stay};
use quittance_domain::care::coverage::{CoverageRole, Exemption};
use quittance_domain::care::movement::{Movement, MovementKind, StayAct};
use quittance_domain::care::stay::{CareMode, DischargeMode};
use quittance_domain::money::{BasisPoints, Currency, Money};
use quittance_domain::pec::Item;

fn params(file: &str, currency: Currency) -> Vec<Parameter> {
    file.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            let f: Vec<&str> = l.splitn(6, ';').collect();
            let raw = ParameterInput { key: f[0].into(), subject: f[1].into(), value: f[2].into(), valid_from: f[3].into(), valid_to: f[4].into(), source: f[5].into() };
            let p = parse_parameter(&raw, currency).unwrap_or_else(|e| panic!("{l}: {e:?}"));
            Parameter { id: i as i64 + 1, key: p.key, subject: p.subject, value: p.value, period: p.period, source: p.source }
        })
        .collect()
}

fn fr() -> Vec<Parameter> {
    params(include_str!("../../store/data/territory/fr-parametres.csv"), Currency::Eur)
}
fn nc() -> Vec<Parameter> {
    params(include_str!("../../store/data/territory/nc-parametres.csv"), Currency::Xpf)
}

#[allow(clippy::too_many_arguments)]
fn line(id: i64, code: &str, category: TariffCategory, minor: i64, currency: Currency, from: Date, to: Option<Date>, service: &str) -> TariffLine {
    TariffLine {
        id,
        code: code.into(),
        label: match category {
            TariffCategory::ForfaitJournalier => "Forfait journalier".into(),
            TariffCategory::ForfaitJournalierPsy => "Forfait journalier psychiatrie".into(),
            TariffCategory::Tjp => "Tarif journalier de prestations".into(),
            TariffCategory::ChambreParticuliere => "Chambre particulière".into(),
            _ => code.into(),
        },
        category,
        unit: category.default_unit(),
        price: Money::new(minor, currency),
        coefficient: None,
        site_id: None,
        service: service.into(),
        period: Period { from, to },
        source: "test".into(),
    }
}

const E: Currency = Currency::Eur;

/// FJ 20 € / 15 € until 28/02/2026 then 23 € / 17 €; TJP `tjp` € a day; private room 45 €
/// (60 € in CARDIO).
fn tariffs(tjp: i64) -> Vec<TariffLine> {
    let (a, b, c) = (date(2018, 1, 1), date(2026, 2, 28), date(2026, 3, 1));
    vec![
        line(1, "FJ", TariffCategory::ForfaitJournalier, 2000, E, a, Some(b), ""),
        line(2, "FJ", TariffCategory::ForfaitJournalier, 2300, E, c, None, ""),
        line(3, "FJPSY", TariffCategory::ForfaitJournalierPsy, 1500, E, a, Some(b), ""),
        line(4, "FJPSY", TariffCategory::ForfaitJournalierPsy, 1700, E, c, None, ""),
        line(5, "TJP", TariffCategory::Tjp, tjp * 100, E, a, None, ""),
        line(6, "CP", TariffCategory::ChambreParticuliere, 4500, E, a, None, ""),
        line(7, "CP", TariffCategory::ChambreParticuliere, 6000, E, a, None, "CARDIO"),
    ]
}

fn bp(p: u32) -> BasisPoints {
    BasisPoints(p * 100)
}

fn cover(id: i64, name: &str, role: CoverageRole, rates: [u32; 5], exemptions: &[Exemption], priority: i64) -> Cover {
    Cover {
        coverage_id: id,
        payer_id: id * 10,
        payer_name: name.into(),
        role,
        from: date(2020, 1, 1),
        to: None,
        rates: rates.map(bp),
        exemptions: exemptions.to_vec(),
        priority,
    }
}

fn cpam(ex: &[Exemption]) -> Cover {
    cover(1, "CPAM", CoverageRole::Obligatoire, [80, 70, 0, 0, 0], ex, 1)
}
fn mgen() -> Cover {
    cover(2, "MGEN", CoverageRole::Complementaire, [20, 30, 100, 100, 0], &[], 2)
}

fn at(y: i16, m: i8, d: i8, h: i8) -> DateTime {
    datetime(y, m, d, h, 0, 0, 0)
}

fn mv(id: i64, kind: MovementKind, start: DateTime, end: Option<DateTime>) -> Movement {
    Movement { id, kind, start, end, service: String::new(), unit: String::new(), written_request: kind == MovementKind::ChambreParticuliere }
}

struct Stay {
    adm: DateTime,
    dis: Option<DateTime>,
    mode: Option<DischargeMode>,
    care: CareMode,
    moves: Vec<Movement>,
    acts: Vec<StayAct>,
}

fn stay(adm: DateTime, dis: DateTime, mode: DischargeMode) -> Stay {
    Stay { adm, dis: Some(dis), mode: Some(mode), care: CareMode::HospitalisationComplete, moves: vec![], acts: vec![] }
}

/// Monday 02/03/2026 → Saturday 07/03/2026: 5 nights, 6 FJ days (domain-rules-2 §1.5).
fn five_nights() -> Stay {
    stay(at(2026, 3, 2, 9), at(2026, 3, 7, 11), DischargeMode::Domicile)
}

fn run(s: &Stay, tariffs: &[TariffLine], params: &[Parameter], covers: &[Cover], agreements: &[Agreement], currency: Currency) -> (Split, Vec<String>) {
    let set = ParameterSet(params);
    let activity = StayActivity { times: StayTimes { admission: s.adm, discharge: s.dis, discharge_mode: s.mode, care_mode: s.care }, site_id: 1, movements: &s.moves, explain: true };
    let v = value_stay(&activity, tariffs, &set, date(2026, 12, 1)).unwrap_or_else(|e| panic!("{}", e.message_fr()));
    let ctx = SplitContext { admission: Some(s.adm.date()), covers, agreements, acts: &s.acts, currency, explain: true };
    let sp = split(v.charges, &ctx, &set).unwrap_or_else(|e| panic!("{}", e.message_fr()));
    check_sums(&sp);
    let mut notes = v.notes;
    notes.extend(sp.notes.clone());
    (sp, notes)
}

fn check_sums(sp: &Split) {
    for l in &sp.lines {
        assert_eq!(l.shares.iter().map(|s| s.amount.minor).sum::<i64>(), l.charge.amount.minor, "shares of {} sum to it", l.charge.code);
    }
    for a in &sp.adjustments {
        assert_eq!(a.shares.iter().map(|s| s.amount.minor).sum::<i64>(), a.amount.minor);
    }
    assert_eq!(sp.totals().iter().map(|(_, m)| m.minor).sum::<i64>(), sp.total().minor);
}

fn owed(sp: &Split, name: &str) -> i64 {
    sp.totals().into_iter().filter(|(p, _)| p.name() == name).map(|(_, m)| m.minor).sum()
}

fn amount(sp: &Split, code: &str) -> i64 {
    sp.lines.iter().filter(|l| l.charge.code == code).map(|l| l.charge.amount.minor).sum()
}

fn costly(day: Date) -> StayAct {
    StayAct { id: 1, performed_on: day, code: "ZZQK002".into(), label: "Acte coûteux".into(), amount: Money::new(15_240, E), coefficient: None }
}

/// One row of the table: name, the paragraph, and the check.
type Case = (&'static str, &'static str, fn());

#[test]
fn rule_cases() {
    let cases: &[Case] = &[
        ("A. TM ≥ FJ : FJ imputé sur le TM", "domain-rules-2 §1.1, §1.5 cas A ; art. L174-4 CSS", || {
            let (sp, _) = run(&five_nights(), &tariffs(1200), &fr(), &[cpam(&[])], &[], E);
            assert_eq!((amount(&sp, "TJP"), amount(&sp, "FJ")), (600_000, 13_800));
            assert_eq!(owed(&sp, "CPAM"), 480_000);
            assert_eq!(owed(&sp, "Patient"), 120_000, "the patient owes the TM, of which the FJ");
            assert_eq!(sp.total().minor, 600_000, "hospital total is the base");
            assert_eq!(sp.adjustments[0].amount.minor, -13_800);
            assert!(sp.adjustments[0].explanation.contains("imputé sur le ticket modérateur"), "{}", sp.adjustments[0].explanation);
        }),
        ("B. acte ≥ 120 € : PF 24 € au lieu du TM, FJ en plus", "domain-rules-2 §1.3, §1.5 cas B ; art. R160-16 CSS", || {
            let mut s = five_nights();
            s.acts = vec![costly(date(2026, 3, 3))];
            let (sp, notes) = run(&s, &tariffs(1200), &fr(), &[cpam(&[])], &[], E);
            assert_eq!(owed(&sp, "CPAM"), 597_600);
            assert_eq!(owed(&sp, "Patient"), 16_200);
            assert_eq!(sp.total().minor, 613_800);
            assert!(sp.adjustments.is_empty());
            assert!(notes.iter().any(|n| n.contains("articipation forfaitaire de 24,00")), "{notes:?}");
        }),
        ("B'. PF portée à 32 €", "domain-rules-2 §1.4, §1.5 cas B'", || {
            let mut s = five_nights();
            s.acts = vec![costly(date(2026, 5, 1))];
            s.adm = at(2026, 4, 27, 9);
            s.dis = Some(at(2026, 5, 2, 11));
            let mut p = fr();
            let raw = ParameterInput { key: "montant_pf".into(), value: "32,00".into(), valid_from: "22/04/2026".into(), source: "test".into(), ..Default::default() };
            let x = parse_parameter(&raw, E).unwrap();
            for q in p.iter_mut().filter(|q| q.key == x.key) {
                q.period.to = Some(date(2026, 4, 21));
            }
            p.push(Parameter { id: 999, key: x.key, subject: None, value: x.value, period: x.period, source: x.source });
            let (sp, _) = run(&s, &tariffs(1200), &p, &[cpam(&[])], &[], E);
            assert_eq!((owed(&sp, "CPAM"), owed(&sp, "Patient")), (596_800, 17_000));
        }),
        ("C. TM < FJ : le patient ne paie que le FJ", "domain-rules-2 §1.1, §1.5 cas C", || {
            let (sp, _) = run(&five_nights(), &tariffs(80), &fr(), &[cpam(&[])], &[], E);
            assert_eq!((owed(&sp, "CPAM"), owed(&sp, "Patient"), sp.total().minor), (32_000, 13_800, 45_800));
            assert!(sp.adjustments[0].explanation.contains("Ticket modérateur de 80,00"), "{}", sp.adjustments[0].explanation);
        }),
        ("D. ALD : TM et PF exonérés, FJ dû", "domain-rules-2 §1.5 cas D ; domain-rules §1.3", || {
            let mut s = five_nights();
            s.acts = vec![costly(date(2026, 3, 3))];
            let (sp, _) = run(&s, &tariffs(1200), &fr(), &[cpam(&[Exemption::Ald])], &[], E);
            assert_eq!((owed(&sp, "CPAM"), owed(&sp, "Patient"), sp.total().minor), (600_000, 13_800, 613_800));
        }),
        ("Tarif changé le 01/03/2026 pendant le séjour", "domain-rules §1.1", || {
            let s = stay(at(2026, 2, 26, 10), at(2026, 3, 2, 14), DischargeMode::Domicile);
            let (sp, _) = run(&s, &tariffs(1200), &fr(), &[cpam(&[])], &[], E);
            let fj: Vec<(usize, i64)> = sp.lines.iter().filter(|l| l.charge.code == "FJ").map(|l| (l.charge.days.len(), l.charge.amount.minor)).collect();
            assert_eq!(fj, vec![(3, 6000), (2, 4600)]);
        }),
        ("Psychiatrie : forfait journalier psychiatrique", "art. R174-5-1 CSS ; domain-rules §1.1", || {
            let mut s = five_nights();
            s.care = CareMode::Psychiatrie;
            let (sp, _) = run(&s, &tariffs(1200), &fr(), &[cpam(&[])], &[], E);
            assert_eq!(amount(&sp, "FJPSY"), 6 * 1700);
        }),
        ("Décès : jour de sortie non facturé", "arrêté du 19 février 2009 ; domain-rules-2 §2", || {
            let s = stay(at(2026, 3, 2, 9), at(2026, 3, 7, 3), DischargeMode::Deces);
            let (sp, notes) = run(&s, &tariffs(1200), &fr(), &[cpam(&[])], &[], E);
            assert_eq!(amount(&sp, "FJ"), 5 * 2300);
            assert!(notes.iter().any(|n| n.contains("décès")));
        }),
        ("Transfert vers un autre établissement : jour de sortie non facturé", "arrêté des prestations MCO ; domain-rules-2 §2", || {
            let s = stay(at(2026, 3, 2, 9), at(2026, 3, 4, 15), DischargeMode::Transfert);
            let (sp, _) = run(&s, &tariffs(1200), &fr(), &[cpam(&[])], &[], E);
            assert_eq!(amount(&sp, "FJ"), 2 * 2300);
        }),
        ("Mutation interne : le service d'accueil facture le jour de mutation", "art. L174-4 CSS ; arrêté des prestations MCO", || {
            let mut s = stay(at(2026, 3, 2, 9), at(2026, 3, 6, 11), DischargeMode::Domicile);
            let mut m = mv(1, MovementKind::Transfert, at(2026, 3, 4, 14), None);
            m.service = "CARDIO".into();
            let mut cp = mv(2, MovementKind::ChambreParticuliere, at(2026, 3, 2, 9), None);
            cp.written_request = true;
            s.moves = vec![m, cp];
            let (sp, _) = run(&s, &tariffs(1200), &fr(), &[cpam(&[])], &[], E);
            let cp: Vec<(String, usize, i64)> = sp.lines.iter().filter(|l| l.charge.code == "CP").map(|l| (l.charge.label.clone(), l.charge.days.len(), l.charge.unit_price.minor)).collect();
            assert_eq!(cp.iter().map(|c| (c.1, c.2)).collect::<Vec<_>>(), vec![(2, 4500), (3, 6000)], "02–03/03 at 45 €, 04–06/03 at CARDIO's 60 €");
            assert_eq!(amount(&sp, "FJ"), 5 * 2300);
        }),
        ("Permission de sortie : nuit passée dehors non facturée", "art. R1112-56 CSP ; domain-rules-2 §2", || {
            let mut s = stay(at(2026, 3, 2, 9), at(2026, 3, 9, 11), DischargeMode::Domicile);
            s.moves = vec![mv(1, MovementKind::Permission, at(2026, 3, 5, 10), Some(at(2026, 3, 6, 18)))];
            let (sp, notes) = run(&s, &tariffs(1200), &fr(), &[cpam(&[])], &[], E);
            assert_eq!(amount(&sp, "FJ"), 7 * 2300, "8 days less the 05/03");
            assert_eq!(amount(&sp, "TJP"), 6 * 120_000, "7 nights less one");
            assert!(notes.iter().any(|n| n.contains("permission de sortie")), "{notes:?}");
        }),
        ("Moins de 24 h avec nuit : FJ dû", "circulaire n° 13762 du 9 novembre 1993", || {
            let s = stay(at(2026, 3, 2, 20), at(2026, 3, 3, 10), DischargeMode::Domicile);
            let (sp, _) = run(&s, &tariffs(1200), &fr(), &[cpam(&[])], &[], E);
            assert_eq!(amount(&sp, "FJ"), 2 * 2300);
        }),
        ("Moins de 24 h sans nuit : pas de FJ", "guide des règles de facturation 2009", || {
            let s = stay(at(2026, 3, 2, 8), at(2026, 3, 2, 19), DischargeMode::Domicile);
            let (sp, notes) = run(&s, &tariffs(1200), &fr(), &[cpam(&[])], &[], E);
            assert_eq!(amount(&sp, "FJ"), 0);
            assert!(notes.iter().any(|n| n.contains("moins de 24 heures")));
        }),
        ("HDJ et HAD : pas de FJ", "guide des règles de facturation 2009 ; domain-rules §1.3", || {
            for care in [CareMode::HospitalisationJour, CareMode::Had] {
                let mut s = stay(at(2026, 3, 2, 8), at(2026, 3, 4, 17), DischargeMode::Domicile);
                s.care = care;
                let (sp, _) = run(&s, &tariffs(1200), &fr(), &[cpam(&[])], &[], E);
                assert_eq!(amount(&sp, "FJ"), 0, "{care:?}");
            }
        }),
        ("Maternité : FJ et TM pris en charge", "domain-rules §1.3 (ameli)", || {
            let (sp, _) = run(&five_nights(), &tariffs(1200), &fr(), &[cpam(&[Exemption::Maternite])], &[], E);
            assert_eq!((owed(&sp, "CPAM"), owed(&sp, "Patient")), (613_800, 0));
        }),
        ("C2S / AME : rien à la charge du patient", "domain-rules §1.3, §1.4", || {
            let (sp, _) = run(&five_nights(), &tariffs(1200), &fr(), &[cpam(&[Exemption::C2s])], &[], E);
            assert_eq!(owed(&sp, "Patient"), 0);
            let ame = cover(5, "AME", CoverageRole::Aide, [100, 100, 100, 0, 0], &[Exemption::Ame], 1);
            let (sp, _) = run(&five_nights(), &tariffs(1200), &fr(), &[ame], &[], E);
            assert_eq!((owed(&sp, "AME"), owed(&sp, "Patient")), (613_800, 0));
        }),
        ("AT/MP : FJ, TM et PF exonérés", "domain-rules §1.3", || {
            let mut s = five_nights();
            s.acts = vec![costly(date(2026, 3, 3))];
            let (sp, _) = run(&s, &tariffs(1200), &fr(), &[cpam(&[Exemption::AtMp])], &[], E);
            assert_eq!(owed(&sp, "Patient"), 0);
        }),
        ("Nouveau-né de moins de 30 jours", "domain-rules §1.3", || {
            let (sp, _) = run(&five_nights(), &tariffs(1200), &fr(), &[cpam(&[Exemption::NouveauNe])], &[], E);
            assert_eq!(owed(&sp, "Patient"), 0);
        }),
        ("31e jour : TM plus dû, FJ toujours dû", "domain-rules §1.3, §1.4", || {
            let s = stay(at(2026, 3, 1, 9), at(2026, 4, 10, 11), DischargeMode::Domicile);
            let (sp, notes) = run(&s, &tariffs(100), &fr(), &[cpam(&[])], &[], E);
            // 40 nights; TM on nights 1–30 only: 30 × 100 € × 20 % = 600 €; FJ 41 × 23 € = 943 € > TM.
            assert_eq!(owed(&sp, "CPAM"), 400_000 - 60_000);
            assert_eq!(owed(&sp, "Patient"), 94_300, "TM imputed on the FJ");
            assert!(notes.iter().any(|n| n.contains("31e jour") && n.contains("31/03/2026")), "{notes:?}");
        }),
        ("Chambre particulière demandée et mutuelle avec accord plafonné", "art. R162-27 CSS ; domain-rules §2.1, §2.2", || {
            let mut s = five_nights();
            s.moves = vec![mv(1, MovementKind::ChambreParticuliere, at(2026, 3, 2, 9), None)];
            let g = Agreement { payer_id: 20, number: "PEC-1".into(), accepted: true, items: vec![Item::ChambreParticuliere, Item::ForfaitJournalier, Item::TicketModerateur], cap_per_day: Some(Money::new(4000, E)), max_days: Some(4), from: None, to: None };
            let (sp, _) = run(&s, &tariffs(1200), &fr(), &[cpam(&[]), mgen()], &[g], E);
            let cp = sp.lines.iter().find(|l| l.charge.code == "CP").unwrap();
            assert_eq!(cp.charge.amount.minor, 6 * 4500);
            let m: i64 = cp.shares.iter().filter(|s| s.party.name() == "MGEN").map(|s| s.amount.minor).sum();
            assert_eq!(m, 4 * 4000, "4 days at most, 40 € a day at most");
            assert_eq!(owed(&sp, "Patient"), 6 * 4500 - 16_000);
        }),
        ("Chambre seule pour raison médicale : non facturée", "art. R1112-19 CSP ; domain-rules §2.1", || {
            let mut s = five_nights();
            s.moves = vec![mv(1, MovementKind::ChambreMedicale, at(2026, 3, 2, 9), None)];
            let (sp, notes) = run(&s, &tariffs(1200), &fr(), &[cpam(&[])], &[], E);
            assert_eq!(amount(&sp, "CP"), 0);
            assert!(notes.iter().any(|n| n.contains("raison médicale")));
        }),
        ("Soins intensifs : pas de chambre particulière ces jours-là", "art. R162-27 CSS (décret n° 2019-719)", || {
            let mut s = five_nights();
            s.moves = vec![mv(1, MovementKind::ChambreParticuliere, at(2026, 3, 2, 9), None), mv(2, MovementKind::SoinsIntensifs, at(2026, 3, 3, 8), Some(at(2026, 3, 4, 20)))];
            let (sp, notes) = run(&s, &tariffs(1200), &fr(), &[cpam(&[])], &[], E);
            assert_eq!(amount(&sp, "CP"), 4 * 4500);
            assert!(notes.iter().any(|n| n == "Chambre particulière non facturée le 03/03/2026 : soins intensifs (art. R162-27 CSS)."), "{notes:?}");
        }),
        ("Refus de la mutuelle : le patient paie", "domain-rules §2.3", || {
            let g = Agreement { payer_id: 20, number: "PEC-2".into(), accepted: false, items: vec![], cap_per_day: None, max_days: None, from: None, to: None };
            let (sp, _) = run(&five_nights(), &tariffs(1200), &fr(), &[cpam(&[]), mgen()], &[g], E);
            assert_eq!(owed(&sp, "MGEN"), 0);
            assert_eq!(owed(&sp, "Patient"), 120_000);
        }),
        ("Mutuelle sans accord : taux du contrat", "domain-rules §1.4", || {
            let (sp, _) = run(&five_nights(), &tariffs(1200), &fr(), &[cpam(&[]), mgen()], &[], E);
            assert_eq!((owed(&sp, "CPAM"), owed(&sp, "MGEN"), owed(&sp, "Patient")), (480_000, 120_000, 0));
        }),
    ];
    for (name, source, check) in cases {
        let r = std::panic::catch_unwind(check);
        assert!(r.is_ok(), "case « {name} » ({source}) failed");
    }
}

const X: Currency = Currency::Xpf;

fn act(code: &str, minor: i64, day: Date) -> Charge {
    Charge {
        tariff_id: 1,
        code: code.into(),
        label: code.into(),
        category: TariffCategory::ActeCms,
        days: vec![day],
        quantity: 1,
        unit_price: Money::new(minor, X),
        amount: Money::new(minor, X),
        rule: "acte_cms",
        explanation: String::new(),
    }
}

fn split_acts(charges: Vec<Charge>, covers: &[Cover]) -> Split {
    let p = nc();
    let ctx = SplitContext { admission: None, covers, agreements: &[], acts: &[], currency: X, explain: true };
    let sp = split(charges, &ctx, &ParameterSet(&p)).unwrap();
    check_sums(&sp);
    sp
}

#[test]
fn new_caledonian_cases() {
    let cafat = cover(1, "CAFAT", CoverageRole::Obligatoire, [70, 70, 0, 0, 0], &[], 1);
    let mutuelle = cover(2, "MDF", CoverageRole::Complementaire, [30, 30, 100, 0, 0], &[], 2);
    // CAFAT 70 % and a mutuelle (domain-rules §6.2): nothing left; XPF integers.
    let sp = split_acts(vec![act("C", 3501, date(2026, 11, 12))], &[cafat.clone(), mutuelle]);
    assert_eq!((owed(&sp, "CAFAT"), owed(&sp, "MDF"), owed(&sp, "Patient")), (2451, 1050, 0), "70 % of 3 501 XPF rounds half up");
    // Card A (no other coverage) from 01/08/2024: patient 20 % (domain-rules §6.3).
    let a = cover(3, "AMSUD", CoverageRole::Aide, [80, 80, 0, 0, 0], &[Exemption::CarteA], 1);
    let sp = split_acts(vec![act("C", 3500, date(2026, 11, 12))], std::slice::from_ref(&a));
    assert_eq!((owed(&sp, "AMSUD"), owed(&sp, "Patient")), (2800, 700));
    // Before 01/08/2024: 10 %.
    let sp = split_acts(vec![act("C", 3500, date(2024, 7, 31))], &[a]);
    assert_eq!(owed(&sp, "Patient"), 350);
    // Card B beside CAFAT: CAFAT 70 %, patient 20 % of the act, the aid the rest.
    let b = cover(4, "AMSUD", CoverageRole::Aide, [80, 80, 0, 0, 0], &[Exemption::CarteB], 3);
    let sp = split_acts(vec![act("AMI", 1141, date(2026, 11, 12))], &[cafat.clone(), b]);
    assert_eq!((owed(&sp, "CAFAT"), owed(&sp, "AMSUD"), owed(&sp, "Patient")), (799, 114, 228));
    // Card M: 10 %.
    let m = cover(5, "AMSUD", CoverageRole::Aide, [80, 80, 0, 0, 0], &[Exemption::CarteM], 1);
    let sp = split_acts(vec![act("SF", 3100, date(2026, 11, 12))], &[m]);
    assert_eq!(owed(&sp, "Patient"), 310);
    // Longue maladie: CAFAT 100 %.
    let lm = cover(6, "CAFAT", CoverageRole::Obligatoire, [70, 70, 0, 0, 0], &[Exemption::LongueMaladie], 1);
    let sp = split_acts(vec![act("C", 3500, date(2026, 11, 12))], &[lm]);
    assert_eq!(owed(&sp, "Patient"), 0);
    // No coverage: the patient pays all.
    let sp = split_acts(vec![act("C", 3500, date(2026, 11, 12))], &[]);
    assert_eq!(owed(&sp, "Patient"), 3500);
    assert!(sp.lines[0].shares[0].explanation.starts_with("reste à la charge du patient"));
    let _ = Party::Patient;
    let _ = Coefficient(100);
    let _ = Unit::Acte;
}
