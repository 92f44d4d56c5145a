--
-- bad input: each error names what was wrong
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS replroute;
RESET client_min_messages;
-- after each error, print its SQLSTATE too

-- negative limits
SELECT replroute.is_routable(-1);
\echo SQLSTATE :SQLSTATE
SELECT replroute.is_routable(NULL, -0.5);
\echo SQLSTATE :SQLSTATE
SELECT replroute.is_routable(-9223372036854775808, 1);
\echo SQLSTATE :SQLSTATE
SELECT replroute.is_routable(0, '-Infinity');
\echo SQLSTATE :SQLSTATE
SELECT replroute.is_routable(0, 'NaN');
\echo SQLSTATE :SQLSTATE
-- wrong types are caught by the parser
SELECT replroute.is_routable('lots');
\echo SQLSTATE :SQLSTATE
SELECT replroute.is_routable(1, 'soon');
\echo SQLSTATE :SQLSTATE

-- wait_for_lsn: NULL target, NULL or negative timeout, bad LSN text
CALL replroute.wait_for_lsn(NULL);
\echo SQLSTATE :SQLSTATE
CALL replroute.wait_for_lsn('0/0', NULL);
\echo SQLSTATE :SQLSTATE
CALL replroute.wait_for_lsn('0/0', -1);
\echo SQLSTATE :SQLSTATE
CALL replroute.wait_for_lsn('0/0', -2147483648);
\echo SQLSTATE :SQLSTATE
CALL replroute.wait_for_lsn('not an lsn');
\echo SQLSTATE :SQLSTATE
CALL replroute.wait_for_lsn('0/0', 2147483648);
\echo SQLSTATE :SQLSTATE

-- inside a transaction block it refuses to wait
BEGIN;
CALL replroute.wait_for_lsn('0/0', 0);
\echo SQLSTATE :SQLSTATE
ROLLBACK;

-- from a function, a DO block or SELECT it cannot drop the caller's snapshot
DO $$
DECLARE
    s text;
BEGIN
    CALL replroute.wait_for_lsn('0/0', 0, s);
END
$$;
\echo SQLSTATE :SQLSTATE
SELECT replroute.wait_for_lsn('0/0');
\echo SQLSTATE :SQLSTATE

-- settings out of range
SET replroute.max_lag_bytes = -1;
\echo SQLSTATE :SQLSTATE
SET replroute.max_lag_bytes = '3GB';
\echo SQLSTATE :SQLSTATE
SET replroute.max_lag_seconds = -1;
\echo SQLSTATE :SQLSTATE
SET replroute.max_lag_seconds = 'one';
\echo SQLSTATE :SQLSTATE
SET replroute.no_such_setting = 1;
\echo SQLSTATE :SQLSTATE
