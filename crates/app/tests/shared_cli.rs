//! The binary's command line, run as a user would.

mod common;

use common::quittance;

#[test]
fn unknown_config_key_stops_with_one_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("q.toml");
    std::fs::write(&cfg, "database = \"x.db\"\nbindd = \"127.0.0.1:1\"\n").unwrap();
    let (ok, _, err) = quittance(&["--config", cfg.to_str().unwrap(), "migrate"]).parts();
    assert!(!ok);
    assert!(err.contains("clé inconnue « bindd »"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[test]
fn bad_flag_and_unreachable_database_are_refused() {
    let (ok, _, err) = quittance(&["serve", "--bnid", "x"]).parts();
    assert!(!ok);
    assert!(err.contains("--bnid"), "{err}");
    let (ok, _, err) = quittance(&["--database", "postgres://nobody@127.0.0.1:1/none", "migrate"]).parts();
    assert!(!ok);
    assert!(err.starts_with("quittance : base PostgreSQL injoignable"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.db");
    let (ok, _, err) = quittance(&["--database", db.to_str().unwrap(), "serve", "--bind", "pas-une-adresse"]).parts();
    assert!(!ok);
    assert!(err.contains("adresse d'écoute invalide"), "{err}");
}

#[test]
fn config_file_supplies_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("from-config.db");
    let cfg = dir.path().join("q.toml");
    std::fs::write(&cfg, format!("database = \"{}\"\n", db.display())).unwrap();
    let (ok, out, err) = quittance(&["--config", cfg.to_str().unwrap(), "migrate"]).parts();
    assert!(ok, "{err}");
    let latest = quittance_store::migrate::MIGRATIONS.last().unwrap().version;
    assert!(out.contains(&format!("version du schéma : {latest}")), "{out}");
    assert!(db.exists());
}

#[test]
fn users_keys_audit_and_backup_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.db");
    let d = db.to_str().unwrap();
    // An establishment is needed to hold a role: the demo data set provides one.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let h = quittance_store::Db::open(d, Default::default()).await.unwrap();
        quittance_store::migrate::migrate(&h).await.unwrap();
        quittance_store::demo::seed(&h).await.unwrap();
        h.close().await;
    });
    let (ok, out, err) = quittance(&[
        "--database", d, "user", "create", "--username", "j.dupont", "--name", "Jeanne Dupont",
        "--role", "technicien_facturation", "--establishment", "hsm", "--site", "MED",
    ]).parts();
    assert!(ok, "{err}");
    assert!(out.contains("Mot de passe provisoire"), "{out}");
    let (ok, _, err) = quittance(&["--database", d, "user", "create", "--username", "x.y", "--name", "X", "--role", "chef", "--establishment", "HSM"]).parts();
    assert!(!ok);
    assert!(err.contains("rôle « chef » inconnu"), "{err}");
    let (ok, out, _) = quittance(&["--database", d, "user", "list"]).parts();
    assert!(ok);
    assert!(out.lines().any(|l| l.starts_with("j.dupont") && l.contains("technicien_facturation")), "{out}");
    let (ok, _, _) = quittance(&["--database", d, "user", "disable", "j.dupont"]).parts();
    assert!(ok);
    let (_, out, _) = quittance(&["--database", d, "user", "list"]).parts();
    assert!(out.lines().any(|l| l.starts_with("j.dupont") && l.contains("désactivé")), "{out}");
    let (ok, out, _) = quittance(&["--database", d, "user", "reset-password", "admin"]).parts();
    assert!(ok && out.contains("Nouveau mot de passe provisoire"), "{out}");
    let (ok, out, err) = quittance(&["--database", d, "apikey", "create", "--user", "admin", "--name", "Export"]).parts();
    assert!(ok, "{err}");
    assert!(out.contains("qk_"), "{out}");
    let (ok, out, _) = quittance(&["--database", d, "apikey", "revoke", "1"]).parts();
    assert!(ok && out.contains("révoquée"), "{out}");

    let (ok, out, err) = quittance(&["--database", d, "audit", "verify"]).parts();
    assert!(ok, "{err}");
    assert!(out.contains("Piste d'audit intègre"), "{out}");

    let copy = dir.path().join("copie.db");
    let (ok, _, err) = quittance(&["--database", d, "backup", "--to", copy.to_str().unwrap()]).parts();
    assert!(ok, "{err}");
    let (ok, out, _) = quittance(&["--database", copy.to_str().unwrap(), "audit", "verify"]).parts();
    assert!(ok && out.contains("intègre"), "the backup is a consistent copy: {out}");
    let (ok, _, err) = quittance(&["--database", d, "backup", "--to", copy.to_str().unwrap()]).parts();
    assert!(!ok && err.contains("existe déjà"), "{err}");

    // Tampering with the file directly is reported, naming the row.
    rt.block_on(async {
        let h = quittance_store::Db::open(d, Default::default()).await.unwrap();
        h.raw("DROP TRIGGER audit_log_no_update; UPDATE audit_log SET action = 'rien' WHERE seq = 3").await.unwrap();
        h.close().await;
    });
    let (ok, _, err) = quittance(&["--database", d, "audit", "verify"]).parts();
    assert!(!ok);
    assert!(err.contains("ligne 3 modifiée"), "{err}");
}

#[test]
fn document_settings_are_checked_before_serving() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.db");
    let d = db.to_str().unwrap();
    // A size limit out of range stops start-up with one French sentence, before listening.
    let cfg = dir.path().join("q.toml");
    std::fs::write(&cfg, "documents_max_mib = 0\n").unwrap();
    let (ok, _, err) = quittance(&["--config", cfg.to_str().unwrap(), "--database", d, "serve", "--bind", "127.0.0.1:1"]).parts();
    assert!(!ok);
    assert!(err.contains("documents_max_mib = 0 : choisir entre 1 et 200 Mio"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    // A folder that cannot be created (a file is in the way) is refused too.
    let blocker = dir.path().join("fichier");
    std::fs::write(&blocker, "x").unwrap();
    let (ok, _, err) = quittance(&["--database", d, "--documents-folder", blocker.join("docs").to_str().unwrap(), "serve", "--bind", "127.0.0.1:1"]).parts();
    assert!(!ok);
    assert!(err.contains("dossier des documents") && err.contains("inutilisable"), "{err}");
    // The new keys are accepted in the file and listed when a key is unknown.
    std::fs::write(&cfg, format!("documents_folder = \"{}\"\ndocuments_max_mib = 5\nbogus = 1\n", dir.path().join("docs").display())).unwrap();
    let (ok, _, err) = quittance(&["--config", cfg.to_str().unwrap(), "--database", d, "migrate"]).parts();
    assert!(!ok);
    assert!(err.contains("clé inconnue « bogus »") && err.contains("documents_folder, documents_max_mib"), "{err}");
}

#[test]
fn trusted_proxies_are_checked_before_serving() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.db");
    let d = db.to_str().unwrap();
    // A bad entry, from the flag or from the file, stops start-up naming it, before listening.
    let (ok, _, err) = quittance(&["--database", d, "--trusted-proxies", "10.0.0.0/8,proxy", "serve", "--bind", "127.0.0.1:1"]).parts();
    assert!(!ok);
    assert!(err.contains("trusted_proxies") && err.contains("« proxy »"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let cfg = dir.path().join("q.toml");
    std::fs::write(&cfg, "trusted_proxies = \"10.0.0.0/40\"\n").unwrap();
    let (ok, _, err) = quittance(&["--config", cfg.to_str().unwrap(), "--database", d, "serve", "--bind", "127.0.0.1:1"]).parts();
    assert!(!ok);
    assert!(err.contains("« 10.0.0.0/40 »"), "{err}");
}
