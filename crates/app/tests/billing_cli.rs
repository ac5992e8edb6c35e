//! `quittance import tariffs FILE --establishment CODE [--dry-run]`, run as a user would, on
//! the example file of docs/billing.md.

mod common;

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
