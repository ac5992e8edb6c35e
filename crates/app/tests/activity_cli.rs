//! `quittance import activity FILE --establishment CODE [--dry-run]`, run as a user would, on
//! the example files of docs/billing-activity.md: acts and call units imported, each refused
//! line reported with its field, nothing imported twice.

mod common;
#[path = "../../store/tests/flow/mod.rs"]
mod flow;
#[path = "../../store/tests/common/typed.rs"]
#[allow(dead_code)]
mod typed;

use common::fixtures::{self, op};
use common::{Base, quittance};
use jiff::civil::date;
use quittance_store::activity::{self, OfferInput, SubscriptionInput, valuation};
use quittance_store::billing::{TariffInput, tariffs};
use quittance_store::Db;

const CSV: &str = include_str!("../../../docs/examples/activite.csv");
const JSON: &str = include_str!("../../../docs/examples/activite.json");

/// HSM with a CMS-RS and a MED site, the acts' and services' tariffs, two patients (IPP
/// 00000001 and 00000002), the second in a stay at MED with a TV + telephone line 4201.
fn base() -> (Base, i64, [i64; 2]) {
    let b = Base::with_hospitals(&["HSM"]);
    let ids = b.rt.block_on(async {
        let db = Db::open(b.db(), Default::default()).await.unwrap();
        let e = quittance_store::establishments::list(&db, &op()).await.unwrap().into_iter().find(|e| e.code == "HSM").unwrap().id;
        let cms = fixtures::site(&db, e, "CMS-RS", "CMS").await;
        let med = fixtures::site(&db, e, "MED", "Médecine").await;
        for (code, category, price) in [("C", "acte_cms", "25,00"), ("AMI", "acte_cms", "3,15"), ("SF", "acte_cms", "23,00"), ("TV", "television", "4,50"), ("TEL-MES", "telephone_activation", "3,00"), ("TEL-U", "telephone_unite", "0,15")] {
            let t = TariffInput { code: code.into(), label: code.into(), category: category.into(), price: price.into(), valid_from: "01/01/2026".into(), ..Default::default() };
            tariffs::add(&db, &op(), e, &tariffs::parse_for(&db, e, &t).await.unwrap()).await.unwrap();
        }
        let p1 = typed::create(&db, &op(), e, &fixtures::at_site(fixtures::person("WAMYTAN", "Lise", "03/04/1990", "F"), cms)).await.unwrap();
        let p2 = typed::create(&db, &op(), e, &fixtures::at_site(fixtures::person("GOPE", "Paul", "01/01/1970", "M"), med)).await.unwrap();
        assert_eq!((p1.ipp.as_str(), p2.ipp.as_str()), ("00000001", "00000002"));
        let stay = flow::stays::save(&db, &op(), p2.id, None, 0, &fixtures::stay_input(med, "19/11/2026")).await.unwrap();
        let o = OfferInput { site_id: med.to_string(), tv_code: "TV".into(), phone_activation_code: "TEL-MES".into(), phone_unit_code: "TEL-U".into(), active: "on".into() };
        activity::services::save_offer(&db, &op(), e, None, &activity::parse_offer(&o).unwrap()).await.unwrap();
        let s = SubscriptionInput { site_id: med.to_string(), stay_id: stay.id.to_string(), kind: "tv_telephone".into(), line_number: "4201".into(), opened_on: "19/11/2026".into(), ..Default::default() };
        activity::services::open(&db, &op(), p2.id, &activity::parse_subscription(&s).unwrap()).await.unwrap();
        db.close().await;
        (e, [p1.id, p2.id])
    });
    (b, ids.0, ids.1)
}

fn total(b: &Base, patient: i64) -> i64 {
    b.rt.block_on(async {
        let db = Db::open(b.db(), Default::default()).await.unwrap();
        let v = valuation::patient(&db, &op(), patient, date(2026, 11, 1), date(2026, 11, 20)).await.unwrap();
        db.close().await;
        v.charges.iter().map(|c| c.amount.minor).sum()
    })
}

#[test]
fn the_example_files_are_imported_once() {
    let (b, _, [p1, p2]) = base();
    let f = b.file("activite.csv", CSV);
    let dry = quittance(&["--database", b.db(), "import", "activity", f.to_str().unwrap(), "--establishment", "hsm", "--dry-run"]);
    assert!(dry.ok, "{} {}", dry.out, dry.err);
    assert!(dry.out.contains("rien n'est importé : --dry-run"), "{}", dry.out);
    assert_eq!(total(&b, p1), 0, "a dry run writes nothing");

    let run = quittance(&["--database", b.db(), "import", "activity", f.to_str().unwrap(), "--establishment", "hsm"]);
    assert!(run.ok, "{} {}", run.out, run.err);
    assert!(run.out.contains("5 ligne(s) lue(s) : 5 ligne(s) d'activité importé(s), 0 ligne(s) refusée(s)."), "{}", run.out);
    assert_eq!(total(&b, p1), 2500 + 630, "C 25,00 € and AMI 2 × 3,15 €");
    // SF 23,00 €; TV 19/11–20/11, the activation, 12 units on the 20th (the 21st is outside the period).
    assert_eq!(total(&b, p2), 2300 + 2 * 450 + 300 + 12 * 15);
    // The same file again: nothing; the JSON file repeats one act (by external id) and adds two rows.
    let again = quittance(&["--database", b.db(), "import", "activity", f.to_str().unwrap(), "--establishment", "hsm"]);
    assert!(again.ok && again.out.contains("déjà été importé en entier"), "{}", again.out);
    let j = b.file("activite.json", JSON);
    let run = quittance(&["--database", b.db(), "import", "activity", j.to_str().unwrap(), "--establishment", "hsm"]);
    assert!(run.ok, "{} {}", run.out, run.err);
    assert!(run.out.contains("3 ligne(s) lue(s) : 2 ligne(s) d'activité importé(s)") && run.out.contains("1 ligne(s) déjà importée(s)"), "{}", run.out);
}

#[test]
fn each_refused_line_is_reported_with_its_field() {
    let (b, _, _) = base();
    let bad = "kind;external_id;ipp;site;date;practitioner;code;quantity;coefficient;line_number;units\n\
               acte;X1;00000001;CMS-RS;31/02/2026;Dr Wakolo;C;;;;\n\
               acte;X2;99999999;CMS-RS;12/11/2026;Dr Wakolo;C;;;;\n\
               acte;X3;00000001;NULLE;12/11/2026;Dr Wakolo;C;;;;\n\
               radio;X4;00000001;CMS-RS;12/11/2026;;;;;;\n\
               unites;X5;;MED;20/11/2026;;;;;9999;3\n\
               acte;X6;00000001;CMS-RS;12/11/2026;Dr Wakolo;C;;;;\n";
    let f = b.file("bad.csv", bad);
    let run = quittance(&["--database", b.db(), "import", "activity", f.to_str().unwrap(), "--establishment", "HSM"]);
    assert!(!run.ok, "refused lines make the command fail");
    for line in [
        "ligne 2 ; champ date ; Date invalide : le 31/02/2026 n'existe pas",
        "ligne 3 ; champ ipp ; Aucun patient d'IPP « 99999999 » dans l'établissement.",
        "ligne 4 ; champ site ; Site inconnu dans l'établissement : « NULLE ».",
        "ligne 5 ; champ kind ; Type de ligne inconnu : « radio » (acte, unites, sejour, mouvement ou acte_sejour).",
        "ligne 6 ; champ line_number ; Aucun abonnement de la ligne « 9999 » ouvert ce jour-là sur ce site.",
    ] {
        assert!(run.out.contains(line), "{line}\n{}", run.out);
    }
    assert!(run.out.contains("6 ligne(s) lue(s) : 1 ligne(s) d'activité importé(s), 5 ligne(s) refusée(s)."), "{}", run.out);
    let unknown = b.file("col.csv", "kind;couleur\nacte;bleu\n");
    let run = quittance(&["--database", b.db(), "import", "activity", unknown.to_str().unwrap(), "--establishment", "HSM"]);
    assert!(!run.ok && run.err.contains("colonne inconnue « couleur »"), "{} {}", run.out, run.err);
}
