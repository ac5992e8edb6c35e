//! Users, roles, passwords, sessions, login throttling and API keys.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use quittance_domain::access::{Grant, Grants, Permission, Scope};
use quittance_domain::audit::hex;
use quittance_domain::validation::{FieldErrors, check_password, check_username};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::actor::Actor;
use crate::args;
use crate::audit::{AuditEvent, diff};
use crate::db::{Db, Tx, V, now_text, parse_ts, ts_text};
use crate::error::Error;
use crate::shared::rows::decode;

/// Session idle timeout.
pub const IDLE_TIMEOUT_SECS: i64 = 30 * 60;
/// Session absolute lifetime.
pub const ABSOLUTE_TIMEOUT_SECS: i64 = 12 * 3600;
/// Failed logins allowed per account within [`THROTTLE_WINDOW_SECS`].
pub const MAX_FAILURES_PER_ACCOUNT: i64 = 5;
/// Failed logins allowed per client address within the window.
pub const MAX_FAILURES_PER_ADDRESS: i64 = 20;
pub const THROTTLE_WINDOW_SECS: i64 = 15 * 60;

// ---------------------------------------------------------------- secrets

/// `n` random bytes as hex.
pub fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n];
    getrandom::fill(&mut b).expect("the system random generator is available");
    hex(&b)
}

pub fn sha256_hex(s: &str) -> String {
    hex(&Sha256::digest(s.as_bytes()))
}

fn argon2() -> Argon2<'static> {
    // OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane.
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters"))
}

/// Hashes a password with argon2id (PHC string), off the async threads.
pub async fn hash_password(password: &str) -> Result<String, Error> {
    let pw = password.to_string();
    tokio::task::spawn_blocking(move || {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).expect("random");
        let salt = SaltString::encode_b64(&salt).map_err(|e| Error::Integrity(e.to_string()))?;
        argon2()
            .hash_password(pw.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| Error::Integrity(e.to_string()))
    })
    .await
    .map_err(|e| Error::Integrity(e.to_string()))?
}

pub async fn verify_password(password: &str, phc: &str) -> bool {
    let pw = password.to_string();
    let phc = phc.to_string();
    tokio::task::spawn_blocking(move || match PasswordHash::new(&phc) {
        Ok(h) => argon2().verify_password(pw.as_bytes(), &h).is_ok(),
        Err(_) => false,
    })
    .await
    .unwrap_or(false)
}

/// A readable temporary password (four groups of random letters and digits).
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).expect("random");
    let s: String = b.iter().map(|x| ALPHABET[(*x as usize) % ALPHABET.len()] as char).collect();
    format!("{}-{}-{}-{}", &s[0..4], &s[4..8], &s[8..12], &s[12..16])
}

// ---------------------------------------------------------------- users

#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    #[serde(skip)]
    pub password_hash: String,
    pub must_change_password: bool,
    pub disabled: bool,
    pub created_at: String,
    /// Changes with every change an administrator makes (state, password reset, roles, name);
    /// their forms send the version they read.
    pub version: i64,
}

/// A row of `user_roles` as a grant: an unknown role is a decoding error (an integrity
/// problem to see), not a role silently dropped.
struct RoleRow(Grant);

/// The columns of a [`RoleRow`] as the database holds them.
#[derive(sqlx::FromRow)]
struct RoleCols {
    role: String,
    establishment_id: i64,
    site_id: Option<i64>,
}

impl<'r, R: sqlx::Row> sqlx::FromRow<'r, R> for RoleRow
where
    RoleCols: sqlx::FromRow<'r, R>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        let r = RoleCols::from_row(row)?;
        Ok(RoleRow(Grant { role: decode(r.role)?, establishment_id: r.establishment_id, site_id: r.site_id }))
    }
}

const USER_COLS: &str = "id, username, display_name, email, password_hash, must_change_password, disabled, created_at, version";

pub async fn grants_of(tx: &mut Tx, user_id: i64) -> Result<Grants, Error> {
    let rows: Vec<RoleRow> = tx
        .all("SELECT role, establishment_id, site_id FROM user_roles WHERE user_id = $1 ORDER BY id", &args![user_id])
        .await?;
    Ok(Grants(rows.into_iter().map(|r| r.0).collect()))
}

/// The grant of a row that joins `user_roles r` (with `LEFT JOIN`: none for a user
/// without a role): the authentication lookups read the user and the grants in one statement.
/// An unknown role is a decoding error, as in [`RoleRow`].
#[derive(Debug, Clone)]
struct JoinedRole(Option<Grant>);

/// The columns of a [`JoinedRole`] as the database holds them.
#[derive(sqlx::FromRow)]
struct JoinedRoleCols {
    grant_role: Option<String>,
    grant_establishment_id: Option<i64>,
    grant_site_id: Option<i64>,
}

impl<'r, R: sqlx::Row> sqlx::FromRow<'r, R> for JoinedRole
where
    JoinedRoleCols: sqlx::FromRow<'r, R>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        let r = JoinedRoleCols::from_row(row)?;
        Ok(JoinedRole(match (r.grant_role, r.grant_establishment_id) {
            (None, None) => None,
            (Some(role), Some(establishment_id)) => Some(Grant { role: decode(role)?, establishment_id, site_id: r.grant_site_id }),
            (role, _) => return Err(sqlx::Error::Decode(format!("rôle {role:?} joint sans son établissement").into())),
        }))
    }
}

const JOINED_ROLE_COLS: &str = "r.role AS grant_role, r.establishment_id AS grant_establishment_id, r.site_id AS grant_site_id";

fn grants_joined<'a>(rows: impl Iterator<Item = &'a JoinedRole>) -> Grants {
    Grants(rows.filter_map(|r| r.0.clone()).collect())
}

/// A new user as the admin page, the API or the CLI sends it.
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub email: String,
    /// `None`: a temporary password is generated and returned.
    pub password: Option<String>,
    pub grants: Vec<Grant>,
    /// Demo users skip the forced change; real ones never do.
    pub must_change_password: bool,
}

fn grants_allowed(actor: &Actor, grants: &[Grant]) -> bool {
    grants.iter().all(|g| actor.allows(Permission::ManageUsers, Scope::Establishment(g.establishment_id)))
}

/// Creates a user with its roles; returns the user id and the initial password.
pub async fn create_user(db: &Db, actor: &Actor, new: &NewUser) -> Result<(i64, String), Error> {
    let allowed = if new.grants.is_empty() {
        actor.allows_anywhere(Permission::ManageUsers)
    } else {
        grants_allowed(actor, &new.grants)
    };
    if !allowed {
        return Err(actor.deny(db, Permission::ManageUsers, Scope::Global, "user", "create").await);
    }
    let mut e = FieldErrors::new();
    let username = new.username.trim().to_lowercase();
    if let Err(m) = check_username(&username) {
        e.add("username", m);
    }
    let display_name = e.required("display_name", &new.display_name, 100);
    let email = e.optional("email", &new.email, 200);
    let password = match &new.password {
        Some(p) => {
            if let Err(m) = check_password(p, &username) {
                e.add("password", m);
            }
            p.clone()
        }
        None => generate_password(),
    };
    e.into_result()?;
    let hash = hash_password(&password).await?;
    let mut tx = db.begin().await?;
    let now = now_text();
    let id = tx
        .int(
            "INSERT INTO users (username, display_name, email, password_hash, must_change_password, disabled, created_at, updated_at, version) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7, 1) RETURNING id",
            &args![username.clone(), display_name.clone(), email.clone(), hash, new.must_change_password, false, now],
        )
        .await
        .map_err(|e| match e.constraint().as_deref() {
            // By constraint name, the same on both backends (no COUNT beforehand: it races).
            Some("users_username_key") => Error::invalid("username", "Cet identifiant est déjà pris."),
            _ => e,
        })?;
    for g in &new.grants {
        insert_grant(&mut tx, id, g).await?;
    }
    tx.audit(
        actor,
        AuditEvent::new("user", "create").id(id).changes(serde_json::json!({
            "username": [null, username], "display_name": [null, display_name],
            "roles": [null, new.grants.iter().map(grant_text).collect::<Vec<_>>()]
        })),
    );
    tx.commit().await?;
    Ok((id, password))
}

fn grant_text(g: &Grant) -> String {
    match g.site_id {
        Some(s) => format!("{}@{}/{}", g.role.code(), g.establishment_id, s),
        None => format!("{}@{}", g.role.code(), g.establishment_id),
    }
}

/// A unique index on a user's roles (migration 0010) refused a second row of the same role
/// and scope (one the count in [`insert_grant`] did not see), as the field error of the role.
fn role_unique(e: Error) -> Error {
    match e.constraint().as_deref() {
        Some("user_roles_user_id_role_establishment_id_site_id_key" | "user_roles_user_id_role_establishment_id_key") => {
            Error::invalid("role", "Cet utilisateur a déjà ce rôle sur ce périmètre.")
        }
        _ => e,
    }
}

pub(crate) async fn insert_grant(tx: &mut Tx, user_id: i64, g: &Grant) -> Result<(), Error> {
    if let Some(s) = g.site_id {
        let ok = tx.int("SELECT COUNT(*) FROM sites WHERE id = $1 AND establishment_id = $2", &args![s, g.establishment_id]).await?;
        if ok == 0 {
            return Err(Error::invalid("site_id", "Ce site n'appartient pas à l'établissement."));
        }
    } else if tx.int("SELECT COUNT(*) FROM establishments WHERE id = $1", &args![g.establishment_id]).await? == 0 {
        return Err(Error::invalid("establishment_id", "Établissement inconnu."));
    }
    let dup = tx
        .int(
            "SELECT COUNT(*) FROM user_roles WHERE user_id = $1 AND role = $2 AND establishment_id = $3 AND COALESCE(site_id, 0) = $4",
            &args![user_id, g.role.code(), g.establishment_id, g.site_id.unwrap_or(0)],
        )
        .await?;
    if dup == 0 {
        tx.exec(
            "INSERT INTO user_roles (user_id, role, establishment_id, site_id, created_at) VALUES ($1, $2, $3, $4, $5)",
            &args![user_id, g.role.code(), g.establishment_id, g.site_id, now_text()],
        )
        .await
        .map_err(role_unique)?;
    }
    Ok(())
}

/// Users with their roles, for the actor's establishments (all for the CLI).
pub async fn list_users(db: &Db, actor: &Actor) -> Result<Vec<(User, Grants)>, Error> {
    actor.require_anywhere(db, Permission::ManageUsers, "user", "list").await?;
    let mut tx = db.read().await?;
    let users: Vec<User> = tx.all(&format!("SELECT {USER_COLS} FROM users ORDER BY username"), &[]).await?;
    let mut out = Vec::new();
    for u in users {
        let g = grants_of(&mut tx, u.id).await?;
        let visible = actor.system
            || g.0.is_empty()
            || g.0.iter().any(|g| actor.allows(Permission::ManageUsers, Scope::Establishment(g.establishment_id)));
        if visible {
            out.push((u, g));
        }
    }
    tx.rollback().await?;
    Ok(out)
}

async fn load_user(tx: &mut Tx, id: i64) -> Result<User, Error> {
    tx.opt(&format!("SELECT {USER_COLS} FROM users WHERE id = $1"), &args![id]).await?.ok_or(Error::NotFound("Utilisateur"))
}

pub async fn find_user(db: &Db, username: &str) -> Result<Option<User>, Error> {
    let mut tx = db.read().await?;
    let u = tx.opt(&format!("SELECT {USER_COLS} FROM users WHERE username = $1"), &args![username.trim().to_lowercase()]).await?;
    tx.rollback().await?;
    Ok(u)
}

/// May the actor manage this user? (the user's roles all lie in establishments the actor manages)
async fn require_manage(db: &Db, actor: &Actor, user_id: i64, action: &str) -> Result<(), Error> {
    let mut tx = db.read().await?;
    let g = grants_of(&mut tx, user_id).await?;
    tx.rollback().await?;
    let allowed = if g.0.is_empty() { actor.allows_anywhere(Permission::ManageUsers) } else { grants_allowed(actor, &g.0) };
    if allowed {
        Ok(())
    } else {
        Err(actor.deny(db, Permission::ManageUsers, Scope::Global, "user", action).await)
    }
}

pub async fn get_user(db: &Db, actor: &Actor, user_id: i64) -> Result<(User, Grants), Error> {
    require_manage(db, actor, user_id, "read").await?;
    let mut tx = db.read().await?;
    let u = load_user(&mut tx, user_id).await?;
    let g = grants_of(&mut tx, user_id).await?;
    tx.rollback().await?;
    Ok((u, g))
}

/// Loads the user an administrator changes, locked until the transaction ends, and checks
/// the version the page or the request read.
async fn lock_user(tx: &mut Tx, id: i64, version: i64) -> Result<User, Error> {
    let u: User =
        tx.lock(&format!("SELECT {USER_COLS} FROM users WHERE id = $1"), &args![id]).await?.ok_or(Error::NotFound("Utilisateur"))?;
    if u.version != version {
        return Err(Error::stale("Ce compte"));
    }
    Ok(u)
}

/// Bumps the user's version (every administrator change does, so a stale page is a 409).
async fn bump_user(tx: &mut Tx, id: i64, version: i64, sets: &str, mut values: Vec<V>) -> Result<(), Error> {
    let n = values.len();
    values.push(V::T(now_text()));
    values.push(V::I(id));
    values.push(V::I(version));
    let sets = if sets.is_empty() { String::new() } else { format!("{sets}, ") };
    tx.exec_one(
        &format!("UPDATE users SET {sets}updated_at = ${}, version = version + 1 WHERE id = ${} AND version = ${}", n + 1, n + 2, n + 3),
        &values,
        &Error::stale("Ce compte").to_string(),
    )
    .await
}

/// Disables or enables an account (`version`: the one read; a concurrent change is a 409).
pub async fn set_disabled(db: &Db, actor: &Actor, user_id: i64, version: i64, disabled: bool) -> Result<(), Error> {
    require_manage(db, actor, user_id, if disabled { "disable" } else { "enable" }).await?;
    if actor.user_id == Some(user_id) && disabled {
        return Err(Error::Conflict("Vous ne pouvez pas désactiver votre propre compte.".into()));
    }
    let mut tx = db.begin().await?;
    let u = lock_user(&mut tx, user_id, version).await?;
    bump_user(&mut tx, user_id, version, "disabled = $1", args![disabled]).await?;
    if disabled {
        tx.exec("DELETE FROM sessions WHERE user_id = $1", &args![user_id]).await?;
    }
    tx.audit(
        actor,
        AuditEvent::new("user", if disabled { "disable" } else { "enable" })
            .id(user_id)
            .changes(serde_json::json!({ "disabled": [u.disabled, disabled] })),
    );
    tx.commit().await?;
    Ok(())
}

/// Sets a new temporary password that must be changed at next login; ends the user's sessions.
/// `version`: the one read (a concurrent change is a 409).
pub async fn reset_password(db: &Db, actor: &Actor, user_id: i64, version: i64, password: Option<String>) -> Result<String, Error> {
    require_manage(db, actor, user_id, "reset_password").await?;
    let mut tx = db.read().await?;
    let u = load_user(&mut tx, user_id).await?;
    tx.rollback().await?;
    let password = match password {
        Some(p) => {
            check_password(&p, &u.username).map_err(|m| Error::invalid("password", m))?;
            p
        }
        None => generate_password(),
    };
    // Hashing is slow: done before the write transaction (the username never changes).
    let hash = hash_password(&password).await?;
    let mut tx = db.begin().await?;
    lock_user(&mut tx, user_id, version).await?;
    bump_user(&mut tx, user_id, version, "password_hash = $1, must_change_password = $2", args![hash, true]).await?;
    tx.exec("DELETE FROM sessions WHERE user_id = $1", &args![user_id]).await?;
    tx.audit(actor, AuditEvent::new("user", "reset_password").id(user_id));
    tx.commit().await?;
    Ok(password)
}

/// The user changes their own password (also the forced first-login change).
pub async fn change_password(db: &Db, actor: &Actor, current: &str, new: &str, confirm: &str) -> Result<(), Error> {
    let user_id = actor.user_id.ok_or(Error::Unauthenticated)?;
    let mut tx = db.read().await?;
    let u = load_user(&mut tx, user_id).await?;
    tx.rollback().await?;
    let mut e = FieldErrors::new();
    if !verify_password(current, &u.password_hash).await {
        e.add("current", "Mot de passe actuel incorrect.");
    }
    if let Err(m) = check_password(new, &u.username) {
        e.add("new", m);
    } else if new == current {
        e.add("new", "Le nouveau mot de passe doit différer de l'actuel.");
    }
    if new != confirm {
        e.add("confirm", "La confirmation ne correspond pas.");
    }
    e.into_result()?;
    let hash = hash_password(new).await?;
    let mut tx = db.begin().await?;
    let now = now_text();
    tx.exec(
        "UPDATE users SET password_hash = $1, must_change_password = $2, password_changed_at = $3, updated_at = $3 WHERE id = $4",
        &args![hash, false, now, user_id],
    )
    .await?;
    tx.audit(actor, AuditEvent::new("user", "change_password").id(user_id));
    tx.commit().await?;
    Ok(())
}

/// Gives a role (`version`: the user's version read; a concurrent change is a 409).
pub async fn grant_role(db: &Db, actor: &Actor, user_id: i64, version: i64, g: &Grant) -> Result<(), Error> {
    actor.require(db, Permission::ManageUsers, Scope::Establishment(g.establishment_id), "user", "grant_role").await?;
    let mut tx = db.begin().await?;
    lock_user(&mut tx, user_id, version).await?;
    insert_grant(&mut tx, user_id, g).await?;
    bump_user(&mut tx, user_id, version, "", vec![]).await?;
    tx.audit(
        actor,
        AuditEvent::new("user", "grant_role")
            .id(user_id)
            .at(Some(g.establishment_id), g.site_id)
            .changes(serde_json::json!({ "role": [null, grant_text(g)] })),
    );
    tx.commit().await?;
    Ok(())
}

/// Removes a role (`version`: the user's version read; a concurrent change is a 409).
pub async fn revoke_role(db: &Db, actor: &Actor, user_id: i64, version: i64, g: &Grant) -> Result<(), Error> {
    actor.require(db, Permission::ManageUsers, Scope::Establishment(g.establishment_id), "user", "revoke_role").await?;
    let mut tx = db.begin().await?;
    lock_user(&mut tx, user_id, version).await?;
    let n = tx
        .exec(
            "DELETE FROM user_roles WHERE user_id = $1 AND role = $2 AND establishment_id = $3 AND COALESCE(site_id, 0) = $4",
            &args![user_id, g.role.code(), g.establishment_id, g.site_id.unwrap_or(0)],
        )
        .await?;
    if n == 0 {
        return Err(Error::NotFound("Rôle"));
    }
    bump_user(&mut tx, user_id, version, "", vec![]).await?;
    tx.audit(
        actor,
        AuditEvent::new("user", "revoke_role")
            .id(user_id)
            .at(Some(g.establishment_id), g.site_id)
            .changes(serde_json::json!({ "role": [grant_text(g), null] })),
    );
    tx.commit().await?;
    Ok(())
}

/// Changes the name and address of an account (`version`: the one read; a concurrent change is a 409).
pub async fn update_user(db: &Db, actor: &Actor, user_id: i64, version: i64, display_name: &str, email: &str) -> Result<(), Error> {
    require_manage(db, actor, user_id, "update").await?;
    let mut e = FieldErrors::new();
    let display_name = e.required("display_name", display_name, 100);
    let email = e.optional("email", email, 200);
    e.into_result()?;
    let mut tx = db.begin().await?;
    let u = lock_user(&mut tx, user_id, version).await?;
    bump_user(&mut tx, user_id, version, "display_name = $1, email = $2", args![display_name.clone(), email.clone()]).await?;
    tx.audit(
        actor,
        AuditEvent::new("user", "update").id(user_id).changes(diff(
            &serde_json::json!({"display_name": u.display_name, "email": u.email}),
            &serde_json::json!({"display_name": display_name, "email": email}),
        )),
    );
    tx.commit().await?;
    Ok(())
}

// ---------------------------------------------------------------- sessions

/// A new session: the token goes in the cookie, only its hash is stored.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub token: String,
    pub csrf: String,
    pub user_id: i64,
    pub must_change_password: bool,
}

async fn failures_since(tx: &mut Tx, key: &str, since: &str) -> Result<i64, Error> {
    tx.int(
        "SELECT COUNT(*) FROM login_attempts WHERE key = $1 AND at >= $2 AND success = $3",
        &args![key, since, false],
    )
    .await
}

/// Checks a username and password. Any failure (unknown user, wrong password,
/// disabled account, throttled) is `Unauthenticated` or `Throttled`, and audited;
/// the page shows one generic message for all of them.
pub async fn login(db: &Db, username: &str, password: &str, ip: &str, request_id: Option<String>) -> Result<NewSession, Error> {
    let username = username.trim().to_lowercase();
    let now = jiff::Timestamp::now();
    let since = ts_text(now - jiff::SignedDuration::from_secs(THROTTLE_WINDOW_SECS));
    let key_user = format!("u:{username}");
    let key_addr = format!("a:{ip}");
    let mut tx = db.read().await?;
    let throttled = failures_since(&mut tx, &key_user, &since).await? >= MAX_FAILURES_PER_ACCOUNT
        || failures_since(&mut tx, &key_addr, &since).await? >= MAX_FAILURES_PER_ADDRESS;
    let user: Option<User> =
        tx.opt(&format!("SELECT {USER_COLS} FROM users WHERE username = $1"), &args![username.clone()]).await?;
    tx.rollback().await?;

    // Always run one argon2 verification so timing does not reveal whether the account exists.
    const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$X2sRMNcqLDdrMZe6s6fTGQv0DazGmKPmgYkRLWnMX9o";
    let ok_password = verify_password(password, user.as_ref().map_or(DUMMY, |u| u.password_hash.as_str())).await;
    let ok = !throttled && ok_password && user.as_ref().is_some_and(|u| !u.disabled);

    let mut tx = db.begin().await?;
    let at = now_text();
    for key in [&key_user, &key_addr] {
        tx.exec("INSERT INTO login_attempts (key, at, success) VALUES ($1, $2, $3)", &args![key.as_str(), at.clone(), ok]).await?;
    }
    let actor = Actor {
        user_id: user.as_ref().map(|u| u.id),
        username: user.as_ref().map_or_else(|| "inconnu".to_string(), |u| u.username.clone()),
        grants: Grants::default(),
        system: false,
        request_id,
        establishment_id: None,
        site_id: None,
    };
    if !ok {
        let reason = if throttled {
            "throttled"
        } else if user.is_none() {
            "unknown_user"
        } else if !ok_password {
            "bad_password"
        } else {
            "disabled"
        };
        tx.audit(&actor, AuditEvent::new("session", "login").outcome("refused").changes(serde_json::json!({ "motif": reason })));
        tx.commit().await?;
        return Err(if throttled { Error::Throttled } else { Error::Unauthenticated });
    }
    let Some(user) = user else { return Err(Error::Unauthenticated) };
    // Successful login clears the account's failure count.
    tx.exec("DELETE FROM login_attempts WHERE key = $1 AND success = $2", &args![key_user.as_str(), false]).await?;
    let grants = grants_of(&mut tx, user.id).await?;
    let first = grants.0.first().cloned();
    let token = random_hex(32);
    let csrf = random_hex(32);
    tx.exec(
        "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, last_seen_at, establishment_id, site_id, ip) VALUES ($1, $2, $3, $4, $4, $5, $6, $7)",
        &args![sha256_hex(&token), user.id, csrf.clone(), at, first.as_ref().map(|g| g.establishment_id), first.and_then(|g| g.site_id), ip],
    )
    .await?;
    tx.audit(&actor, AuditEvent::new("session", "login"));
    tx.commit().await?;
    Ok(NewSession { token, csrf, user_id: user.id, must_change_password: user.must_change_password })
}

/// A session with its user and one of the user's roles: the lookup reads them in one statement.
#[derive(Debug, Clone, sqlx::FromRow)]
struct SessionRow {
    csrf_token: String,
    session_created_at: String,
    last_seen_at: String,
    session_establishment_id: Option<i64>,
    session_site_id: Option<i64>,
    #[sqlx(flatten)]
    user: User,
    #[sqlx(flatten)]
    role: JoinedRole,
}

/// A live session with its user.
#[derive(Debug, Clone)]
pub struct Session {
    pub actor: Actor,
    pub user: User,
    pub csrf: String,
}

/// Finds the session for a cookie token; expired sessions (idle or absolute) are
/// removed and refused. Touches `last_seen_at` at most once a minute.
pub async fn session(db: &Db, token: &str) -> Result<Session, Error> {
    let h = sha256_hex(token);
    // Every request comes here: one statement on a connection, no transaction — the session,
    // its user and the user's roles (one row per role).
    let mut conn = db.autocommit().await?;
    let rows: Vec<SessionRow> = conn
        .all(
            &format!(
                "SELECT s.csrf_token, s.created_at AS session_created_at, s.last_seen_at, s.establishment_id AS session_establishment_id, \
                 s.site_id AS session_site_id, u.id, u.username, u.display_name, u.email, u.password_hash, u.must_change_password, u.disabled, \
                 u.created_at, u.version, {JOINED_ROLE_COLS} FROM sessions s JOIN users u ON u.id = s.user_id \
                 LEFT JOIN user_roles r ON r.user_id = u.id WHERE s.token_hash = $1 ORDER BY r.id" // USER_COLS, as u.
            ),
            &args![h.clone()],
        )
        .await?;
    drop(conn);
    let grants = grants_joined(rows.iter().map(|r| &r.role));
    let Some(row) = rows.into_iter().next() else {
        return Err(Error::Unauthenticated);
    };
    let user = row.user;
    let now = jiff::Timestamp::now();
    let age = |s: &str| parse_ts(s).map(|t| (now - t).get_seconds()).unwrap_or(i64::MAX);
    if user.disabled || age(&row.session_created_at) > ABSOLUTE_TIMEOUT_SECS || age(&row.last_seen_at) > IDLE_TIMEOUT_SECS {
        let mut tx = db.begin().await?;
        tx.exec("DELETE FROM sessions WHERE token_hash = $1", &args![h]).await?;
        tx.commit().await?;
        return Err(Error::Unauthenticated);
    }
    if age(&row.last_seen_at) > 60 {
        let mut tx = db.begin().await?;
        tx.exec("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2", &args![now_text(), h]).await?;
        tx.commit().await?;
    }
    let actor = Actor {
        user_id: Some(user.id),
        username: user.username.clone(),
        grants,
        system: false,
        request_id: None,
        establishment_id: row.session_establishment_id,
        site_id: row.session_site_id,
    };
    Ok(Session { actor, user, csrf: row.csrf_token })
}

pub async fn logout(db: &Db, token: &str, actor: &Actor) -> Result<(), Error> {
    let mut tx = db.begin().await?;
    tx.exec("DELETE FROM sessions WHERE token_hash = $1", &args![sha256_hex(token)]).await?;
    tx.audit(actor, AuditEvent::new("session", "logout"));
    tx.commit().await?;
    Ok(())
}

/// Changes the session's current establishment and site (the layout's switcher).
pub async fn switch_context(db: &Db, token: &str, actor: &Actor, establishment_id: i64, site_id: Option<i64>) -> Result<(), Error> {
    let held = actor.grants.0.iter().any(|g| {
        g.establishment_id == establishment_id && (g.site_id.is_none() || site_id.is_none() || g.site_id == site_id)
    });
    if !held {
        return Err(actor.deny(db, Permission::ReadEstablishments, Scope::Establishment(establishment_id), "session", "switch").await);
    }
    let mut tx = db.begin().await?;
    if let Some(s) = site_id
        && tx.int("SELECT COUNT(*) FROM sites WHERE id = $1 AND establishment_id = $2", &args![s, establishment_id]).await? == 0 {
            return Err(Error::invalid("site_id", "Ce site n'appartient pas à l'établissement."));
        }
    tx.exec(
        "UPDATE sessions SET establishment_id = $1, site_id = $2 WHERE token_hash = $3",
        &args![establishment_id, site_id, sha256_hex(token)],
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Test helper and operator tool: ages a session (used to test timeouts).
pub async fn age_session(db: &Db, token: &str, created_secs_ago: i64, idle_secs_ago: i64) -> Result<(), Error> {
    let now = jiff::Timestamp::now();
    let mut tx = db.begin().await?;
    tx.exec(
        "UPDATE sessions SET created_at = $1, last_seen_at = $2 WHERE token_hash = $3",
        &args![
            ts_text(now - jiff::SignedDuration::from_secs(created_secs_ago)),
            ts_text(now - jiff::SignedDuration::from_secs(idle_secs_ago)),
            sha256_hex(token)
        ],
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

// ---------------------------------------------------------------- API keys

#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct ApiKey {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub prefix: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
    pub last_used_at: Option<String>,
}

/// Creates an API key acting with the roles of `user_id`. The secret is shown once.
pub async fn create_api_key(db: &Db, actor: &Actor, user_id: i64, name: &str) -> Result<(i64, String), Error> {
    require_manage(db, actor, user_id, "create_api_key").await?;
    let mut e = FieldErrors::new();
    let name = e.required("name", name, 100);
    e.into_result()?;
    let prefix = random_hex(4);
    let secret = format!("qk_{prefix}_{}", random_hex(24));
    let mut tx = db.begin().await?;
    load_user(&mut tx, user_id).await?;
    let id = tx
        .int(
            "INSERT INTO api_keys (user_id, name, prefix, key_hash, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
            &args![user_id, name.clone(), prefix.clone(), sha256_hex(&secret), now_text()],
        )
        .await?;
    tx.audit(
        actor,
        AuditEvent::new("api_key", "create").id(id).changes(serde_json::json!({"user_id": [null, user_id], "name": [null, name], "prefix": [null, prefix]})),
    );
    tx.commit().await?;
    Ok((id, secret))
}

pub async fn revoke_api_key(db: &Db, actor: &Actor, key_id: i64) -> Result<(), Error> {
    let mut tx = db.read().await?;
    let key: Option<ApiKey> = tx
        .opt("SELECT id, user_id, name, prefix, created_at, revoked_at, last_used_at FROM api_keys WHERE id = $1", &args![key_id])
        .await?;
    tx.rollback().await?;
    let key = key.ok_or(Error::NotFound("Clé d'API"))?;
    require_manage(db, actor, key.user_id, "revoke_api_key").await?;
    let mut tx = db.begin().await?;
    tx.exec("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL", &args![now_text(), key_id]).await?;
    tx.audit(actor, AuditEvent::new("api_key", "revoke").id(key_id));
    tx.commit().await?;
    Ok(())
}

pub async fn list_api_keys(db: &Db, actor: &Actor, user_id: i64) -> Result<Vec<ApiKey>, Error> {
    require_manage(db, actor, user_id, "list_api_keys").await?;
    let mut tx = db.read().await?;
    let k = tx
        .all(
            "SELECT id, user_id, name, prefix, created_at, revoked_at, last_used_at FROM api_keys WHERE user_id = $1 ORDER BY id",
            &args![user_id],
        )
        .await?;
    tx.rollback().await?;
    Ok(k)
}

/// An API key with its user and one of the user's roles (one row per role).
#[derive(sqlx::FromRow)]
struct KeyOwner {
    key_id: i64,
    last_used_at: Option<String>,
    #[sqlx(flatten)]
    user: User,
    #[sqlx(flatten)]
    role: JoinedRole,
}

/// The actor behind a bearer secret, or `Unauthenticated`.
pub async fn api_actor(db: &Db, secret: &str) -> Result<Actor, Error> {
    // Every API request comes here: one statement on a connection, no transaction (as [`session`]).
    let mut conn = db.autocommit().await?;
    let rows: Vec<KeyOwner> = conn
        .all(
            &format!(
                "SELECT k.id AS key_id, k.last_used_at, u.id, u.username, u.display_name, u.email, u.password_hash, \
                 u.must_change_password, u.disabled, u.created_at, u.version, {JOINED_ROLE_COLS} \
                 FROM api_keys k JOIN users u ON u.id = k.user_id LEFT JOIN user_roles r ON r.user_id = u.id \
                 WHERE k.key_hash = $1 AND k.revoked_at IS NULL ORDER BY r.id" // USER_COLS, as u.
            ),
            &args![sha256_hex(secret)],
        )
        .await?;
    drop(conn);
    let grants = grants_joined(rows.iter().map(|r| &r.role));
    let Some(k) = rows.into_iter().next() else {
        return Err(Error::Unauthenticated);
    };
    let user = k.user;
    if user.disabled {
        return Err(Error::Unauthenticated);
    }
    // A temporary password (new user, reset) must be changed at a login first: until then the key is refused.
    if user.must_change_password {
        return Err(Error::PasswordChangeRequired);
    }
    let stale = k.last_used_at.as_deref().and_then(parse_ts).is_none_or(|t| (jiff::Timestamp::now() - t).get_seconds() > 60);
    if stale {
        let mut tx = db.begin().await?;
        tx.exec("UPDATE api_keys SET last_used_at = $1 WHERE id = $2", &args![now_text(), k.key_id]).await?;
        tx.commit().await?;
    }
    Ok(Actor {
        user_id: Some(user.id),
        username: format!("{}#cle{}", user.username, k.key_id),
        grants,
        system: false,
        request_id: None,
        establishment_id: None,
        site_id: None,
    })
}
