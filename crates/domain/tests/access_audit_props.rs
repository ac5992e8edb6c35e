//! Property tests for DOMAIN.md invariants 5 (tamper-evident trail) and 6 (a user
//! touches only the sites and functions their roles grant).

use proptest::prelude::*;
use quittance_domain::access::{Grant, Grants, Permission, Role, Scope};
use quittance_domain::audit::{AuditRecord, ChainVerifier, GENESIS};

fn role() -> impl Strategy<Value = Role> {
    prop::sample::select(Role::ALL.to_vec())
}

fn permission() -> impl Strategy<Value = Permission> {
    prop::sample::select(vec![
        Permission::ManageEstablishments,
        Permission::ManageUsers,
        Permission::ReadAudit,
        Permission::ReadMetrics,
        Permission::ReadEstablishments,
        Permission::ReadPatients,
        Permission::WritePatients,
        Permission::ReadConfidentialPatients,
        Permission::ReadConfidentialDocuments,
        Permission::Bill,
        Permission::Collect,
        Permission::ControlStatements,
        Permission::Accounting,
    ])
}

fn grant() -> impl Strategy<Value = Grant> {
    (role(), 1i64..4, prop::option::of(1i64..6)).prop_map(|(role, e, s)| Grant { role, establishment_id: e, site_id: s })
}

proptest! {
    /// Allowed at a site ⇒ some grant of a role carrying the permission covers that
    /// site (establishment-wide, or that very site for site-level permissions).
    #[test]
    fn site_access_needs_a_covering_grant(gs in prop::collection::vec(grant(), 0..6), p in permission(), e in 1i64..4, s in 1i64..6) {
        let grants = Grants(gs.clone());
        let allowed = grants.allows(p, Scope::Site { establishment_id: e, site_id: s });
        let covering = gs.iter().any(|g| g.role.allows(p) && g.establishment_id == e
            && (g.site_id.is_none() || (g.site_id == Some(s) && !p.establishment_wide())));
        prop_assert_eq!(allowed, covering);
    }

    /// Removing grants never adds rights (monotonicity).
    #[test]
    fn fewer_grants_never_allow_more(gs in prop::collection::vec(grant(), 1..6), drop in 0usize..6, p in permission(), e in 1i64..4, s in prop::option::of(1i64..6)) {
        let scope = match s { Some(s) => Scope::Site { establishment_id: e, site_id: s }, None => Scope::Establishment(e) };
        let mut fewer = gs.clone();
        fewer.remove(drop % gs.len());
        if Grants(fewer).allows(p, scope) {
            prop_assert!(Grants(gs).allows(p, scope));
        }
    }

    /// The auditor role never grants a write permission, whatever the scope.
    #[test]
    fn auditors_never_write(e in 1i64..4, s in prop::option::of(1i64..6), site in 1i64..6) {
        let g = Grants(vec![Grant { role: Role::Auditeur, establishment_id: e, site_id: s }]);
        for p in [Permission::WritePatients, Permission::Bill, Permission::Collect, Permission::ManageUsers, Permission::ManageEstablishments, Permission::Accounting] {
            let at_site = Scope::Site { establishment_id: e, site_id: site };
            prop_assert!(!g.allows(p, at_site), "{:?} at a site", p);
            prop_assert!(!g.allows(p, Scope::Establishment(e)), "{:?} establishment-wide", p);
        }
    }

    /// Any single change to any row of a chain is detected, and an untouched chain verifies.
    #[test]
    fn any_tampering_is_detected(n in 1usize..30, victim in 0usize..30, field in 0usize..6, text in "[a-z]{1,8}") {
        let mut prev = GENESIS.to_string();
        let mut rows = Vec::new();
        for i in 0..n {
            let r = AuditRecord {
                seq: i as i64 + 1,
                at: format!("2026-11-22T10:00:{:02}.000000Z", i % 60),
                user_id: Some(i as i64 % 3),
                actor: "u".into(),
                establishment_id: Some(1),
                site_id: None,
                entity: "patient".into(),
                entity_id: Some(i.to_string()),
                action: "view".into(),
                outcome: "ok".into(),
                changes: "{}".into(),
                request_id: None,
            };
            let h = r.chain_hash(&prev);
            rows.push((r, prev.clone(), h.clone()));
            prev = h;
        }
        let verify = |rows: &[(AuditRecord, String, String)]| {
            let mut v = ChainVerifier::default();
            for (r, p, h) in rows { v.push(r, p, h)?; }
            v.finish(n as i64, &prev)
        };
        prop_assert!(verify(&rows).is_ok());
        let k = victim % n;
        let r = &mut rows[k].0;
        match field {
            0 => r.actor.push_str(&text),
            1 => r.action = format!("{}{}", r.action, text),
            2 => r.changes = format!("{{\"{text}\":1}}"),
            3 => r.user_id = Some(99),
            4 => r.entity_id = None,
            _ => r.at.push_str(&text),
        }
        prop_assert!(verify(&rows).is_err());
    }

    /// Removing any row (including the last) is detected.
    #[test]
    fn any_removal_is_detected(n in 2usize..30, victim in 0usize..30) {
        let mut prev = GENESIS.to_string();
        let mut rows = Vec::new();
        for i in 0..n {
            let r = AuditRecord { seq: i as i64 + 1, at: "t".into(), user_id: None, actor: "a".into(), establishment_id: None,
                site_id: None, entity: "e".into(), entity_id: None, action: "x".into(), outcome: "ok".into(), changes: "{}".into(), request_id: None };
            let h = r.chain_hash(&prev);
            rows.push((r, prev.clone(), h.clone()));
            prev = h;
        }
        rows.remove(victim % n);
        let mut v = ChainVerifier::default();
        let mut res = Ok(());
        for (r, p, h) in &rows { res = v.push(r, p, h); if res.is_err() { break; } }
        let res = res.and_then(|_| v.finish(n as i64, &prev));
        prop_assert!(res.is_err());
    }
}

mod coverage_props {
    use jiff::civil::{Date, date};
    use proptest::prelude::*;
    use quittance_domain::care::coverage::{Flag, Span, covered_throughout, flags};

    fn day(n: i64) -> Date {
        date(2026, 1, 1).checked_add(jiff::Span::new().days(n)).unwrap()
    }

    proptest! {
        /// A gap is reported exactly when some day between the first compulsory
        /// period's start and the last one's end is not covered.
        #[test]
        fn gaps_match_uncovered_days(periods in prop::collection::vec((0i64..200, 0i64..60), 1..6)) {
            let spans: Vec<Span> = periods.iter().enumerate()
                .map(|(i, (start, len))| Span { id: i as i64, role: "obligatoire".into(), from: day(*start), to: Some(day(start + len)) })
                .collect();
            let first = spans.iter().map(|s| s.from).min().unwrap();
            let last = spans.iter().filter_map(|s| s.to).max().unwrap();
            let has_gap = flags(&spans, day(0), 0).iter().any(|f| matches!(f, Flag::Gap { .. }));
            prop_assert_eq!(has_gap, !covered_throughout(&spans, "obligatoire", first, last));
            // Every reported gap day is really uncovered.
            for f in flags(&spans, day(0), 0) {
                if let Flag::Gap { from, to } = f {
                    prop_assert!(!spans.iter().any(|s| s.covers(from) || s.covers(to)));
                }
            }
        }
    }
}
