//! `quittance import payers FILE --establishment CODE [--dry-run]`, run as a user would.

mod common;
#[path = "../../store/tests/flow/mod.rs"]
mod flow;

use std::path::Path;

use common::fixtures::op;
use common::{Base, Run, quittance};
use flow::establishments;
use flow::payers::{self, Payer};
use quittance_store::Db;

impl Base {
    /// A migrated database with two establishments (HSM, HSB) and no payer.
    fn new() -> Base {
        Base::with_hospitals(&["HSM", "HSB"])
    }

    fn import(&self, file: &Path, extra: &[&str]) -> Run {
        let mut args = vec!["--database", self.db(), "import", "payers", file.to_str().unwrap(), "--establishment", "hsm"];
        args.extend_from_slice(extra);
        quittance(&args)
    }

    /// The payers of an establishment, by code.
    fn payers(&self, code: &str) -> Vec<Payer> {
        self.rt.block_on(async {
            let db = Db::open(self.db(), Default::default()).await.unwrap();
            let op = op();
            let e = establishments::list(&db, &op).await.unwrap().into_iter().find(|e| e.code == code).unwrap();
            let mut v = payers::list(&db, &op, e.id).await.unwrap();
            v.sort_by(|a, b| a.code.cmp(&b.code));
            db.close().await;
            v
        })
    }

    fn audit_rows(&self, action: &str) -> usize {
        self.rt.block_on(async {
            let db = Db::open(self.db(), Default::default()).await.unwrap();
            let f = quittance_store::audit::AuditFilter { entity: Some("payer".into()), action: Some(action.into()), ..Default::default() };
            let n = quittance_store::audit::search(&db, &op(), &f, 1000, 0).await.unwrap().0.len();
            db.close().await;
            n
        })
    }
}

const HEADER: &str = "code;kind;name;identifier;payment_terms_days;statement_period;statement_deadline_days;channel;accounting_account";

#[test]
fn valid_semicolon_file_is_imported() {
    let b = Base::new();
    let f = b.file(
        "organismes.csv",
        &format!(
            "\u{feff}{HEADER}\n\
             CPAM38;obligatoire;CPAM de l'Isère;381;30;mensuel;15;b2_noemie;4111\n\
             MUTEST;complementaire;\"Mutuelle de l'Est; section Rhône\";;45;trimestriel;10;courriel;4112\n"
        ),
    );
    let r = b.import(&f, &[]);
    assert!(r.ok, "{} {}", r.out, r.err);
    assert_eq!(
        r.out.trim(),
        "lot 1 : 2/2 ligne(s) traitée(s), 2 organisme(s) importé(s), 0 ligne(s) refusée(s)\n\
         2 ligne(s) lue(s) : 2 organisme(s) importé(s), 0 ligne(s) refusée(s).",
        "{}",
        r.out
    );
    let got = b.payers("HSM");
    assert_eq!(got.len(), 2);
    let (cpam, mut_) = (&got[0], &got[1]);
    assert_eq!((cpam.code.as_str(), cpam.kind.code(), cpam.name.as_str(), cpam.identifier.as_deref()), ("CPAM38", "obligatoire", "CPAM de l'Isère", Some("381")));
    assert_eq!((cpam.channel.code(), cpam.accounting_account.as_deref(), cpam.payment_terms_days), ("b2_noemie", Some("4111"), 30));
    assert_eq!(mut_.name, "Mutuelle de l'Est; section Rhône", "a quoted field keeps its semicolon");
    assert_eq!((mut_.identifier.as_deref(), mut_.payment_terms_days, mut_.statement_period.code(), mut_.statement_deadline_days), (None, 45, "trimestriel", 10));
    assert!(mut_.active);
    assert!(b.payers("HSB").is_empty(), "only the named establishment");
    assert_eq!(b.audit_rows("create"), 2, "each creation is audited");

    // A comma-separated file works too; the same codes again are refused on their line.
    let f = b.file("organismes-virgules.csv", "code,kind,name\nMSA01,obligatoire,MSA Ain-Rhône\nCPAM38,obligatoire,CPAM en double\n");
    let r = b.import(&f, &[]);
    assert!(!r.ok);
    assert!(r.out.lines().any(|l| l == "ligne 3 ; champ code ; Ce code d'organisme existe déjà."), "{}", r.out);
    assert_eq!(b.payers("HSM").iter().map(|p| p.code.as_str()).collect::<Vec<_>>(), ["CPAM38", "MSA01", "MUTEST"]);
}

#[test]
fn bad_rows_are_reported_by_line_and_field_with_a_failure_exit() {
    let b = Base::new();
    let f = b.file(
        "organismes.csv",
        &format!(
            "{HEADER}\n\
             CPAM38;obligatoire;CPAM de l'Isère;381;30;mensuel;15;b2_noemie;4111\n\
             MUTX;mutuelle;Mutuelle X;;30;mensuel;15;papier;4112\n\
             MUTY;complementaire;Mutuelle Y;;400;mensuel;15;pigeon;41A2\n\
             MUTZ;complementaire;Mutuelle Z;;30;mensuel;15;papier;4112\n"
        ),
    );
    let r = b.import(&f, &[]);
    assert!(!r.ok, "a refused row makes the command fail: {}", r.out);
    assert_eq!(r.code, Some(1));
    let lines: Vec<&str> = r.out.lines().collect();
    assert_eq!(
        lines,
        [
            "lot 1 : 4/4 ligne(s) traitée(s), 2 organisme(s) importé(s), 2 ligne(s) refusée(s)",
            "ligne 3 ; champ kind ; Type d'organisme inconnu.",
            "ligne 4 ; champ payment_terms_days ; Nombre de jours entre 0 et 365.",
            "ligne 4 ; champ channel ; Canal de transmission inconnu.",
            "ligne 4 ; champ accounting_account ; Compte comptable : chiffres uniquement (ex. 4111).",
            "4 ligne(s) lue(s) : 2 organisme(s) importé(s), 2 ligne(s) refusée(s).",
        ],
        "{}",
        r.out
    );
    assert_eq!(r.err.trim(), "quittance : 2 ligne(s) refusée(s)");
    // The valid rows are in; the refused ones are not.
    assert_eq!(b.payers("HSM").iter().map(|p| p.code.as_str()).collect::<Vec<_>>(), ["CPAM38", "MUTZ"]);
}

#[test]
fn dry_run_checks_everything_and_imports_nothing() {
    let b = Base::new();
    let f = b.file(
        "organismes.csv",
        &format!(
            "{HEADER}\n\
             CPAM38;obligatoire;CPAM de l'Isère;381;30;mensuel;15;b2_noemie;4111\n\
             MUTEST;complementaire;Mutuelle de l'Est;;45;mensuel;10;courriel;4112\n"
        ),
    );
    let r = b.import(&f, &["--dry-run"]);
    assert!(r.ok, "{} {}", r.out, r.err);
    assert_eq!(
        r.out.trim(),
        "lot 1 : 2/2 ligne(s) vérifiée(s), 2 organisme(s) valide(s), 0 ligne(s) refusée(s)\n\
         2 ligne(s) lue(s) : 2 organisme(s) valide(s) (rien n'est importé : --dry-run), 0 ligne(s) refusée(s)."
    );
    assert!(b.payers("HSM").is_empty(), "a dry run imports nothing");
    assert_eq!(b.audit_rows("create"), 0, "nor audits a creation");

    // A dry run reports the bad rows the same way (and fails), still writing nothing.
    let bad = b.file("bad.csv", &format!("{HEADER}\nCPAM38;obligatoire;CPAM de l'Isère;381;30;mensuel;15;b2_noemie;4111\nMUTX;mutuelle;Mutuelle X;;30;mensuel;15;papier;4112\n"));
    let r = b.import(&bad, &["--dry-run"]);
    assert!(!r.ok);
    assert!(r.out.contains("ligne 3 ; champ kind ; Type d'organisme inconnu."), "{}", r.out);
    assert!(r.out.contains("1 organisme(s) valide(s) (rien n'est importé : --dry-run), 1 ligne(s) refusée(s)"), "{}", r.out);
    assert!(b.payers("HSM").is_empty());

    // Then the real import.
    let r = b.import(&f, &[]);
    assert!(r.ok, "{} {}", r.out, r.err);
    assert_eq!(b.payers("HSM").len(), 2);
}

#[test]
fn unknown_column_stops_before_reading_any_row() {
    let b = Base::new();
    // A valid first row, then a row with too many fields: the header alone decides.
    let f = b.file(
        "organismes.csv",
        "code;kind;name;taux_sejour\nCPAM38;obligatoire;CPAM de l'Isère;80\nMUTX;complementaire;Mutuelle X;30;en trop;encore\n",
    );
    let r = b.import(&f, &[]);
    assert!(!r.ok);
    assert_eq!(r.code, Some(1));
    assert_eq!(r.err.trim(), "quittance : colonne inconnue « taux_sejour » (voir la documentation du format dans docs/)", "{}", r.err);
    assert!(r.out.trim().is_empty(), "no row was read or reported: {}", r.out);
    assert!(b.payers("HSM").is_empty(), "nothing imported");

    // An unknown establishment and a missing file are one sentence each.
    let good = b.file("good.csv", "code;kind;name\nCPAM38;obligatoire;CPAM de l'Isère\n");
    let r = quittance(&["--database", b.db(), "import", "payers", good.to_str().unwrap(), "--establishment", "XYZ"]);
    assert!(!r.ok);
    assert_eq!(r.err.trim(), "quittance : établissement « XYZ » inconnu");
    let missing = b.path.parent().unwrap().join("absent.csv");
    let r = b.import(&missing, &[]);
    assert!(!r.ok);
    assert!(r.err.starts_with("quittance : fichier « ") && r.err.contains("absent.csv") && r.err.contains("illisible"), "{}", r.err);
    assert_eq!(r.err.trim().lines().count(), 1);
    assert!(b.payers("HSM").is_empty());
}
