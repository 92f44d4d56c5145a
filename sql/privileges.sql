--
-- privileges: node_status(), is_routable() and wait_for_lsn() for everyone;
-- standbys() and slots() only for pg_monitor
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS replroute;
DROP ROLE IF EXISTS regress_replroute_user;
RESET client_min_messages;

CREATE ROLE regress_replroute_user LOGIN;

SET ROLE regress_replroute_user;
SELECT role FROM replroute.node_status();
SELECT replroute.is_routable();
CALL replroute.wait_for_lsn(pg_current_wal_lsn(), 0);
SELECT count(*) >= 0 AS ok FROM replroute.standbys();
SELECT count(*) >= 0 AS ok FROM replroute.slots();
RESET ROLE;

GRANT pg_monitor TO regress_replroute_user;
SET ROLE regress_replroute_user;
SELECT count(*) >= 0 AS ok FROM replroute.standbys();
SELECT count(*) >= 0 AS ok FROM replroute.slots();
RESET ROLE;

-- what the extension grants, straight from the catalog
SELECT p.oid::regprocedure AS routine,
       CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END AS grantee,
       a.privilege_type
  FROM pg_proc p, aclexplode(p.proacl) a
 WHERE p.pronamespace = 'replroute'::regnamespace AND a.grantee <> p.proowner
 ORDER BY p.oid::regprocedure::text, 2;
SELECT CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END AS grantee,
       a.privilege_type
  FROM pg_namespace n, aclexplode(n.nspacl) a
 WHERE n.nspname = 'replroute' AND a.grantee <> n.nspowner;

REVOKE pg_monitor FROM regress_replroute_user;
DROP ROLE regress_replroute_user;
