//! `quittance import tariffs FILE --establishment CODE [--dry-run]`, run as a user would, on
//! the example file of docs/billing.md.

mod common;
#[path = "../../store/tests/flow/mod.rs"]
mod flow;

use common::fixtures::{self, op};
use common::{Base, quittance};
use jiff::civil::date;
use quittance_domain::billing::tariffs;
use quittance_store::Db;
use quittance_store::billing::tariffs::{TariffFilter, list};

const EXAMPLE: &str = include_str!("../../../docs/examples/tarifs.csv");

/// A hospital HSM with the example's sites (MED, CHIR, MAT).
fn base() -> Base {
    let b = Base::with_hospitals(&["HSM"]);
    b.rt.block_on(async {
        let db = Db::open(b.db(), Default::default()).await.unwrap();
        let e = establishment(&db).await;
        for (code, name) in [("MED", "Médecine"), ("CHIR", "Chirurgie"), ("MAT", "Maternité")] {
            fixtures::site(&db, e, code, name).await;
        }
        db.close().await;
    });
    b
}

async fn establishment(db: &Db) -> i64 {
    quittance_store::establishments::list(db, &op()).await.unwrap().into_iter().find(|e| e.code == "HSM").unwrap().id
}

fn lines(b: &Base) -> Vec<tariffs::TariffLine> {
    b.rt.block_on(async {
        let db = Db::open(b.db(), Default::default()).await.unwrap();
        let e = establishment(&db).await;
        let v = list(&db, &op(), e, &TariffFilter::default()).await.unwrap().into_iter().map(|t| t.line).collect();
        db.close().await;
        v
    })
}

#[test]
fn the_example_file_is_imported_and_a_second_run_imports_nothing() {
    let b = base();
    let f = b.file("tarifs.csv", EXAMPLE);
    let dry = quittance(&["--database", b.db(), "import", "tariffs", f.to_str().unwrap(), "--establishment", "hsm", "--dry-run"]);
    assert!(dry.ok, "{} {}", dry.out, dry.err);
    assert!(dry.out.contains("rien n'est importé : --dry-run"), "{}", dry.out);
    assert!(!lines(&b).iter().any(|l| l.code == "TV"), "a dry run writes nothing");

    let run = quittance(&["--database", b.db(), "import", "tariffs", f.to_str().unwrap(), "--establishment", "hsm"]);
    assert!(run.ok, "{} {}", run.out, run.err);
    let rows = EXAMPLE.lines().count() - 1;
    assert!(run.out.contains(&format!("{rows} ligne(s) lue(s) : {rows} tarif(s) importé(s), 0 ligne(s) refusée(s).")), "{}", run.out);
    let l = lines(&b);
    let tv = tariffs::find(&l, "TV", None, "", date(2026, 3, 1)).expect("TV");
    assert_eq!(tv.price.format_fr_plain(), "4,50 €");
    assert!(tariffs::find(&l, "CP", Some(9999), "", date(2026, 3, 1)).is_none(), "the private room is priced for its site only");

    let again = quittance(&["--database", b.db(), "import", "tariffs", f.to_str().unwrap(), "--establishment", "hsm"]);
    assert!(again.ok && again.out.contains("déjà été importé en entier"), "{}", again.out);
}

#[test]
fn each_refused_line_is_reported_with_its_field() {
    let b = base();
    let f = b.file(
        "tarifs.csv",
        "code;label;category;price;site;valid_from;source\n\
         TV;Télévision;television;4,50;;01/01/2026;Délibération\n\
         TEL;Téléphone;telephone_unite;gratuit;;01/01/2026;Délibération\n\
         CP;Chambre;chambre_particuliere;50,00;NULLE;01/01/2026;Délibération\n\
         TV;Télévision;television;5,00;;01/06/2025;Délibération\n",
    );
    let run = quittance(&["--database", b.db(), "import", "tariffs", f.to_str().unwrap(), "--establishment", "HSM"]);
    assert!(!run.ok, "refused lines make the command fail");
    for expected in ["ligne 3 ; champ price", "ligne 4 ; champ site", "ligne 5 ; champ valid_from", "4 ligne(s) lue(s) : 1 tarif(s) importé(s), 3 ligne(s) refusée(s)."] {
        assert!(run.out.contains(expected), "{expected}: {}", run.out);
    }
    let unknown = b.file("bad.csv", "code;prix\nTV;4\n");
    let r = quittance(&["--database", b.db(), "import", "tariffs", unknown.to_str().unwrap(), "--establishment", "HSM"]);
    assert!(!r.ok && r.err.contains("colonne inconnue « prix »"), "{}", r.err);
}

#[test]
fn bill_preview_explains_each_charge_in_text_and_json() {
    let b = base();
    let stay_id = b.rt.block_on(async {
        let db = Db::open(b.db(), Default::default()).await.unwrap();
        let e = establishment(&db).await;
        let site = quittance_store::establishments::list_sites(&db, &op(), e).await.unwrap().into_iter().find(|s| s.code == "MED").unwrap().id;
        let p = fixtures::at_site(fixtures::person("MARTIN", "Claire", "12/03/1980", "F"), site);
        let parsed = quittance_store::patients::parse_new(&db, e, &p).await.expect("parse");
        let patient = quittance_store::patients::create(&db, &op(), e, &parsed).await.expect("patient").id;
        let input = quittance_store::care::stays::StayInput {
            discharge_date: "02/03/2026".into(),
            discharge_time: "14:00".into(),
            discharge_mode: "domicile".into(),
            ..fixtures::stay_input(site, "26/02/2026")
        };
        let id = flow::stays::save(&db, &op(), patient, None, 0, &input).await.expect("stay").id;
        db.close().await;
        id
    });
    let id = stay_id.to_string();
    let text = quittance(&["--database", b.db(), "bill", "preview", "--stay", &id, "--date", "01/12/2026"]);
    assert!(text.ok, "{} {}", text.out, text.err);
    assert!(text.out.contains("Forfait journalier 20,00\u{a0}€ × 3 jours, du 26/02/2026 au 28/02/2026"), "{}", text.out);
    assert!(text.out.contains("Forfait journalier 23,00\u{a0}€ × 2 jours, du 01/03/2026 au 02/03/2026, jour de sortie inclus"), "{}", text.out);
    assert!(text.out.contains("Pas de tarif journalier de prestations"), "the example has no site-wide TJP for MED: {}", text.out);
    let json = quittance(&["--database", b.db(), "bill", "preview", "--stay", &id, "--date", "01/12/2026", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json.out).expect("JSON");
    let charges = v["charges"].as_array().unwrap();
    assert_eq!(charges[0]["amount_minor"], 6000);
    assert_eq!(charges[1]["amount"], "46,00 €");
    assert_eq!(charges[1]["day_count"], 2);
    let missing = quittance(&["--database", b.db(), "bill", "preview", "--stay", "999999"]);
    assert!(!missing.ok && missing.err.contains("introuvable"), "{}", missing.err);
}

/// `quittance import activity` with the stays of the patient-management software
/// (docs/examples/sejours.csv): a stay, its movements and a costly act, then the same stay again
/// with its discharge; imported once, valued with its private room and PF.
#[test]
fn stays_and_movements_are_imported_from_the_feed() {
    let b = common::Base::with_hospitals(&["HSM"]);
    b.rt.block_on(async {
        let db = quittance_store::Db::open(b.db(), Default::default()).await.unwrap();
        let e = quittance_store::establishments::list(&db, &common::fixtures::op()).await.unwrap().into_iter().find(|e| e.code == "HSM").unwrap().id;
        let med = common::fixtures::site(&db, e, "MED", "Médecine").await;
        for (code, category, price) in [("TJP", "tjp", "1 000,00"), ("CP", "chambre_particuliere", "45,00")] {
            let t = quittance_store::billing::TariffInput { code: code.into(), label: code.into(), category: category.into(), price: price.into(), valid_from: "01/01/2026".into(), ..Default::default() };
            quittance_store::billing::tariffs::add(&db, &common::fixtures::op(), e, &quittance_store::billing::tariffs::parse_for(&db, e, &t).await.unwrap()).await.unwrap();
        }
        let p = common::fixtures::at_site(common::fixtures::person("GOPE", "Paul", "01/01/1970", "M"), med);
        quittance_store::patients::create(&db, &common::fixtures::op(), e, &quittance_store::patients::parse_new(&db, e, &p).await.unwrap()).await.unwrap();
        db.close().await;
    });
    let f = b.file("sejours.csv", include_str!("../../../docs/examples/sejours.csv"));
    let run = quittance(&["--database", b.db(), "import", "activity", f.to_str().unwrap(), "--establishment", "HSM"]);
    assert!(run.ok, "{} {}", run.out, run.err);
    assert!(run.out.contains("6 ligne(s) lue(s) : 6 ligne(s) d'activité importé(s), 0 ligne(s) refusée(s)."), "{}", run.out);
    let again = quittance(&["--database", b.db(), "import", "activity", f.to_str().unwrap(), "--establishment", "HSM", "--batch-size", "2"]);
    assert!(again.ok, "{} {}", again.out, again.err);
    let same = b.file("sejours-bis.csv", &format!("{}\n", include_str!("../../../docs/examples/sejours.csv").trim_end()));
    let rerun = quittance(&["--database", b.db(), "import", "activity", same.to_str().unwrap(), "--establishment", "HSM"]);
    assert!(rerun.ok, "{} {}", rerun.out, rerun.err);
    assert!(rerun.out.contains("déjà importée") || rerun.out.contains("déjà été importé"), "nothing new: {}", rerun.out);
    b.rt.block_on(async {
        let db = quittance_store::Db::open(b.db(), Default::default()).await.unwrap();
        let mut tx = db.read().await.unwrap();
        let stays: Vec<(i64, Option<String>)> = tx.all("SELECT id, discharge_at FROM stays WHERE external_id = 'GAM-S-7001'", &[]).await.unwrap();
        let n: i64 = tx.int("SELECT COUNT(*) FROM stay_movements", &[]).await.unwrap();
        tx.rollback().await.unwrap();
        assert_eq!(stays.len(), 1, "one stay, updated by its second row");
        assert_eq!(stays[0].1.as_deref(), Some("2026-11-07T11:00"));
        assert_eq!(n, 3);
        let v = quittance_store::billing::valuation::stay(&db, &common::fixtures::op(), stays[0].0, None).await.unwrap();
        let cp: usize = v.charges().iter().filter(|c| c.code == "CP").map(|c| c.days.len()).sum();
        assert_eq!(cp, 4, "02, 05, 06, 07/11: not the intensive-care days");
        assert!(v.notes.iter().any(|n| n.contains("DZQM006")), "{:?}", v.notes);
        db.close().await;
    });
}
