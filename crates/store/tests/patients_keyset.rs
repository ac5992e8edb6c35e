//! Keyset pagination of the patient search, on both backends: walking the pages from cursor
//! to cursor gives the whole list, in order, each file once — also where a file's birth name
//! and used name both match the prefix — and the same list as the offset pages.

mod common;

use common::TestDb;
use quittance_domain::patients::search as patient_search;
use quittance_store::patients::{self, Cursor};
use quittance_store::{Actor, Db, demo};

contract!(cursor_pages_are_the_whole_list_once);

fn op() -> Actor {
    Actor::system("test")
}

async fn hospital(db: &Db) -> i64 {
    let mut tx = db.read().await.unwrap();
    let id = tx.int("SELECT id FROM establishments WHERE code = 'HSM'", &[]).await.unwrap();
    tx.rollback().await.unwrap();
    id
}

async fn cursor_pages_are_the_whole_list_once(t: TestDb) {
    let db = &t.db;
    demo::seed(db).await.expect("demo");
    let est = hospital(db).await;
    // A file whose used name sorts before its birth name, both under the prefix « ma »:
    // it must stand once, at its used name.
    let mut tx = db.begin().await.unwrap();
    let twice = tx.int("SELECT id FROM patients WHERE establishment_id = $1 ORDER BY id LIMIT 1", &quittance_store::args![est]).await.unwrap();
    tx.exec(
        "UPDATE patients SET birth_name = 'MAZURE', birth_name_key = 'mazure', used_name = 'MABILLE', used_name_key = 'mabille' WHERE id = $1",
        &quittance_store::args![twice],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let mut walked_any = false;
    for q in ["ma", "b", "l", "d", "", "m"] {
        let naissance = if q.is_empty() { "00/00/1970" } else { "" };
        let Ok(c) = patient_search::parse(q, naissance) else { continue };
        if c.is_empty() {
            continue;
        }
        let all = patients::search(db, &op(), est, &c, 500, 0).await.unwrap();
        assert!(!all.more && all.next.is_none(), "{q:?}: one page holds everything");
        let all_ids: Vec<i64> = all.items.iter().map(|p| p.id).collect();
        let mut unique = all_ids.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), all_ids.len(), "{q:?}: each file once");
        if q == "ma" {
            assert_eq!(all_ids.iter().filter(|&&i| i == twice).count(), 1, "the file with two matching names stands once");
        }

        let mut walked = Vec::new();
        let mut after: Option<Cursor> = None;
        let mut pages = 0;
        loop {
            let page = patients::search_after(db, &op(), est, &c, 3, after.as_ref()).await.unwrap();
            assert!(page.items.len() <= 3);
            assert_eq!(page.more, page.next.is_some(), "{q:?}: a next cursor exactly when there is more");
            walked.extend(page.items.iter().map(|p| p.id));
            pages += 1;
            assert!(pages <= all_ids.len() + 1, "{q:?}: the walk ends");
            match page.next {
                // The cursor travels as a token through a link and back.
                Some(n) => after = Some(Cursor::parse(&n.token()).expect("token parses")),
                None => break,
            }
        }
        assert_eq!(walked, all_ids, "{q:?}: the cursor pages put together are the whole list, in order");
        walked_any |= pages > 2;

        let mut by_offset = Vec::new();
        let mut offset = 0;
        loop {
            let page = patients::search(db, &op(), est, &c, 3, offset).await.unwrap();
            by_offset.extend(page.items.iter().map(|p| p.id));
            if !page.more {
                break;
            }
            offset += 3;
        }
        assert_eq!(by_offset, all_ids, "{q:?}: offset pages and cursor pages agree");
    }
    assert!(walked_any, "some search ran over more than two pages");
}

#[test]
fn tokens_from_elsewhere_are_refused() {
    for bad in ["", "abc", "a|b", "A B|c|1", "a|b|", "a'--|b|1", &"a".repeat(300), "é|b|1"] {
        assert!(Cursor::parse(bad).is_none(), "{bad:?}");
    }
    let ok = Cursor::parse("dupont|marie|000123").expect("a token of ours");
    assert_eq!(ok.token(), "dupont|marie|000123");
    // The IPP comes last and may hold the separator.
    assert_eq!(Cursor::parse("dupont|marie|A|B").map(|c| c.token()).as_deref(), Some("dupont|marie|A|B"));
}
