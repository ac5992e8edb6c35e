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
        Permission::ManageTariffs,
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
                .map(|(i, (start, len))| Span { id: i as i64, role: quittance_domain::care::coverage::CoverageRole::Obligatoire, from: day(*start), to: Some(day(start + len)) })
                .collect();
            let first = spans.iter().map(|s| s.from).min().unwrap();
            let last = spans.iter().filter_map(|s| s.to).max().unwrap();
            let has_gap = flags(&spans, day(0), 0).iter().any(|f| matches!(f, Flag::Gap { .. }));
            prop_assert_eq!(has_gap, !covered_throughout(&spans, quittance_domain::care::coverage::CoverageRole::Obligatoire, first, last));
            // Every reported gap day is really uncovered.
            for f in flags(&spans, day(0), 0) {
                if let Flag::Gap { from, to } = f {
                    prop_assert!(!spans.iter().any(|s| s.covers(from) || s.covers(to)));
                }
            }
        }
    }
}

mod common;

/// Extreme inputs: ids at the `i64` bounds, sequence numbers at the bounds, huge texts.
mod extreme {
    use super::common::{ext_i64, wild_string};
    use super::{permission, role};
    use proptest::prelude::*;
    use quittance_domain::access::{Grant, Grants, Role, Scope};
    use quittance_domain::audit::{AuditRecord, ChainBreak, ChainVerifier, GENESIS, hex};

    fn grant() -> impl Strategy<Value = Grant> {
        (role(), ext_i64(), prop::option::of(ext_i64())).prop_map(|(role, establishment_id, site_id)| Grant { role, establishment_id, site_id })
    }

    fn scope() -> impl Strategy<Value = Scope> {
        prop_oneof![
            Just(Scope::Global),
            ext_i64().prop_map(Scope::Establishment),
            (ext_i64(), ext_i64()).prop_map(|(establishment_id, site_id)| Scope::Site { establishment_id, site_id }),
        ]
    }

    fn record() -> impl Strategy<Value = AuditRecord> {
        (ext_i64(), wild_string(), prop::option::of(ext_i64()), wild_string(), prop::option::of(wild_string()))
            .prop_map(|(seq, text, id, actor, opt)| AuditRecord {
                seq,
                at: text.clone(),
                user_id: id,
                actor,
                establishment_id: id,
                site_id: id.map(|x| x.wrapping_neg()),
                entity: text.clone(),
                entity_id: opt.clone(),
                action: text.clone(),
                outcome: text,
                changes: "{}".into(),
                request_id: opt,
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        /// Grants with ids at the bounds: every query answers, and what a site-scoped query
        /// allows, some grant of that establishment holds.
        #[test]
        fn grants_with_extreme_ids(gs in prop::collection::vec(grant(), 0..6), p in permission(), sc in scope(), e in ext_i64()) {
            let g = Grants(gs);
            let allowed = g.allows(p, sc);
            if allowed && let Scope::Site { establishment_id, .. } | Scope::Establishment(establishment_id) = sc {
                prop_assert!(g.0.iter().any(|x| x.establishment_id == establishment_id && x.role.allows(p)));
            }
            if allowed {
                prop_assert!(g.allows_anywhere(p));
            }
            let ests = g.establishments();
            prop_assert!(ests.windows(2).all(|w| w[0] < w[1]));
            if let Some(sites) = g.sites_for(p, e) {
                prop_assert!(sites.windows(2).all(|w| w[0] < w[1]));
            }
            prop_assert!(Role::ALL.iter().all(|r| Role::from_code(r.code()) == Some(*r)));
        }

        /// The verifier takes rows with any sequence numbers (the bounds included) and any
        /// texts: it never panics, and accepts a row only as the next one of the chain.
        #[test]
        fn verifier_with_extreme_rows(rows in prop::collection::vec((record(), any::<bool>()), 1..5), head in ext_i64()) {
            let mut v = ChainVerifier::default();
            let mut prev = GENESIS.to_string();
            let mut last = 0i64;
            for (r, honest) in &rows {
                let stored_prev = if *honest { prev.clone() } else { r.actor.clone() };
                let h = r.chain_hash(&stored_prev);
                prop_assert_eq!(h.len(), 64);
                match v.push(r, &stored_prev, &h) {
                    Ok(()) => {
                        prop_assert_eq!(i128::from(r.seq), i128::from(last) + 1);
                        prop_assert_eq!(&stored_prev, &prev);
                        last = r.seq;
                        prev = h;
                    }
                    Err(ChainBreak::Inserted { seq } | ChainBreak::Altered { seq }) => prop_assert_eq!(seq, r.seq),
                    Err(ChainBreak::Removed { after_seq, next_seq }) => { prop_assert_eq!(after_seq, last); prop_assert_eq!(next_seq, r.seq); }
                    Err(e) => prop_assert!(false, "unexpected {:?}", e),
                }
                let _ = e_to_string(v.finish(head, &prev));
            }
            prop_assert_eq!(v.finish(last, &prev), Ok(()));
        }

        /// `hex` is two lowercase hex digits per byte.
        #[test]
        fn hex_of_any_bytes(b in prop::collection::vec(any::<u8>(), 0..300)) {
            let h = hex(&b);
            prop_assert_eq!(h.len(), b.len() * 2);
            prop_assert!(h.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)));
        }
    }

    fn e_to_string(r: Result<(), ChainBreak>) -> String {
        r.map_or_else(|e| e.to_string(), |()| String::new())
    }
}
