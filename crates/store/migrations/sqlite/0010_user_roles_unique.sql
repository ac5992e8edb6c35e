-- A user holds a role once per scope: once for a site, once establishment-wide. Two unique
-- indexes, since both backends let NULLs differ in a unique index: one on the site-level
-- rows, one (partial) on the establishment-wide rows, whose site_id is NULL. Named as
-- PostgreSQL names a unique constraint on those columns, so that a refusal is recognised
-- by one name on both backends (see `Error::constraint`).
-- Exact duplicates written before (same user, role and scope) grant nothing more: the
-- oldest row of each is kept.
DELETE FROM user_roles WHERE id NOT IN (
    SELECT MIN(id) FROM user_roles GROUP BY user_id, role, establishment_id, COALESCE(site_id, 0)
);
CREATE UNIQUE INDEX user_roles_user_id_role_establishment_id_site_id_key ON user_roles (user_id, role, establishment_id, site_id);
CREATE UNIQUE INDEX user_roles_user_id_role_establishment_id_key ON user_roles (user_id, role, establishment_id) WHERE site_id IS NULL;
