--
-- hostile input: every routine with NULLs, extreme values, wrong types,
-- wrong argument counts and in odd places (FROM, parallel query,
-- savepoints, PL/pgSQL), and the settings with odd values.  Nothing may
-- crash the backend: the last statement proves the session is alive.
-- After each statement expected to fail, its SQLSTATE is printed.
--

-- A setting given before the library is loaded is only a placeholder; an
-- invalid one is dropped when the library defines the setting.  (That
-- WARNING is hidden: it comes from CREATE EXTENSION or from LOAD, depending
-- on whether the extension existed already.)
SET client_min_messages = error;
SET replroute.max_lag_bytes = 'abc';
SET replroute.max_lag_seconds = 'NaN';
CREATE EXTENSION IF NOT EXISTS replroute;
LOAD 'replroute';
RESET client_min_messages;
SHOW replroute.max_lag_bytes;
SHOW replroute.max_lag_seconds;
-- statements expected to return at once may not hang the test
SET statement_timeout = '60s';

--
-- 1. NULLs in every position, positional and named notation
--

-- node_status(), standbys(), slots() take no argument, not even NULL
SELECT role FROM replroute.node_status(NULL);
\echo SQLSTATE :SQLSTATE
SELECT * FROM replroute.standbys(NULL);
\echo SQLSTATE :SQLSTATE
SELECT * FROM replroute.slots(NULL);
\echo SQLSTATE :SQLSTATE

-- is_routable(): a NULL limit takes the setting (a primary is routable)
SELECT replroute.is_routable(NULL);
SELECT replroute.is_routable(NULL, NULL);
SELECT replroute.is_routable(NULL, 0);
SELECT replroute.is_routable(0, NULL);
SELECT replroute.is_routable(NULL::bigint, NULL::double precision);
SELECT replroute.is_routable(max_lag_bytes => NULL);
SELECT replroute.is_routable(max_lag_seconds => NULL);
SELECT replroute.is_routable(max_lag_seconds => NULL, max_lag_bytes => NULL);
SELECT replroute.is_routable(NULL, max_lag_seconds => NULL);
SELECT replroute.is_routable(max_lag_bytes := NULL, max_lag_seconds := NULL);
-- named notation mistakes are the parser's
SELECT replroute.is_routable(max_lag_seconds => NULL, NULL);
\echo SQLSTATE :SQLSTATE
SELECT replroute.is_routable(max_lag_bytes => NULL, max_lag_bytes => NULL);
\echo SQLSTATE :SQLSTATE
SELECT replroute.is_routable(NULL, max_lag_bytes => NULL);
\echo SQLSTATE :SQLSTATE
SELECT replroute.is_routable(lag => NULL);
\echo SQLSTATE :SQLSTATE

-- wait_for_lsn: a NULL target or timeout is an error in every position and
-- notation; a NULL status is the default and any status given is ignored
CALL replroute.wait_for_lsn(NULL, NULL);
\echo SQLSTATE :SQLSTATE
CALL replroute.wait_for_lsn(NULL, 0, NULL);
\echo SQLSTATE :SQLSTATE
CALL replroute.wait_for_lsn(NULL::pg_lsn, NULL::integer, NULL::text);
\echo SQLSTATE :SQLSTATE
CALL replroute.wait_for_lsn('0/0', NULL, NULL);
\echo SQLSTATE :SQLSTATE
CALL replroute.wait_for_lsn(target => NULL);
\echo SQLSTATE :SQLSTATE
CALL replroute.wait_for_lsn(timeout_ms => NULL, target => '0/0');
\echo SQLSTATE :SQLSTATE
CALL replroute.wait_for_lsn(status => NULL, timeout_ms => 0, target => NULL);
\echo SQLSTATE :SQLSTATE
CALL replroute.wait_for_lsn('0/0', 0, NULL);
CALL replroute.wait_for_lsn('0/0', status => NULL);
CALL replroute.wait_for_lsn(status => 'success', target => '0/0', timeout_ms => 0);
-- the target has no default
CALL replroute.wait_for_lsn();
\echo SQLSTATE :SQLSTATE
CALL replroute.wait_for_lsn(timeout_ms => 0);
\echo SQLSTATE :SQLSTATE

--
-- 2. Extreme values
--

-- is_routable(): the whole bigint and float8 ranges
SELECT replroute.is_routable(9223372036854775807, 1e308);
SELECT replroute.is_routable(9223372036854775807, 'Infinity');
SELECT replroute.is_routable(0, -0.0);
SELECT replroute.is_routable(0, '-0'::double precision);
SELECT replroute.is_routable(0, 1e-300);
SELECT replroute.is_routable(0, '4.9e-324'::double precision);
SELECT replroute.is_routable(-9223372036854775808, 0);
\echo SQLSTATE :SQLSTATE
SELECT replroute.is_routable(-1, 'NaN');
\echo SQLSTATE :SQLSTATE
SELECT replroute.is_routable(0, '-Infinity');
\echo SQLSTATE :SQLSTATE
SELECT replroute.is_routable(0, -1e-300);
\echo SQLSTATE :SQLSTATE
SELECT replroute.is_routable(0, '-NaN');
\echo SQLSTATE :SQLSTATE
-- out of the types' ranges: caught before the call
SELECT replroute.is_routable(9223372036854775808);
\echo SQLSTATE :SQLSTATE
SELECT replroute.is_routable('9223372036854775808');
\echo SQLSTATE :SQLSTATE
SELECT replroute.is_routable(0, '1e309');
\echo SQLSTATE :SQLSTATE
SELECT replroute.is_routable(0, '1e-400');
\echo SQLSTATE :SQLSTATE

-- wait_for_lsn: the whole pg_lsn and timeout ranges; a primary answers at
-- once, even to the longest timeout
CALL replroute.wait_for_lsn('0/0', 0);
CALL replroute.wait_for_lsn('FFFFFFFF/FFFFFFFF', 0);
CALL replroute.wait_for_lsn('0/0', 2147483647);
CALL replroute.wait_for_lsn('FFFFFFFF/FFFFFFFF', 2147483647);
CALL replroute.wait_for_lsn(target => 'FFFFFFFF/FFFFFFFF', timeout_ms => 2147483647);
CALL replroute.wait_for_lsn('100000000/0');
\echo SQLSTATE :SQLSTATE
CALL replroute.wait_for_lsn('0/100000000');
\echo SQLSTATE :SQLSTATE
CALL replroute.wait_for_lsn('-1/0');
\echo SQLSTATE :SQLSTATE
CALL replroute.wait_for_lsn('');
\echo SQLSTATE :SQLSTATE
CALL replroute.wait_for_lsn('0/0', '2147483648');
\echo SQLSTATE :SQLSTATE

--
-- 3. Wrong types and wrong argument counts
--
SELECT replroute.is_routable('1'::text);
\echo SQLSTATE :SQLSTATE
SELECT replroute.is_routable('{"max_lag_bytes": 1}'::json);
\echo SQLSTATE :SQLSTATE
SELECT replroute.is_routable(ARRAY[1, 2]);
\echo SQLSTATE :SQLSTATE
SELECT replroute.is_routable(ROW(1, 2));
\echo SQLSTATE :SQLSTATE
SELECT replroute.is_routable(true);
\echo SQLSTATE :SQLSTATE
SELECT replroute.is_routable(1.5);
\echo SQLSTATE :SQLSTATE
SELECT replroute.is_routable(1, interval '1 second');
\echo SQLSTATE :SQLSTATE
SELECT replroute.is_routable(max_lag_seconds => 'soon');
\echo SQLSTATE :SQLSTATE
SELECT replroute.is_routable(1, 2, 3);
\echo SQLSTATE :SQLSTATE
-- what the implicit casts allow
SELECT replroute.is_routable(1::smallint, 1::integer);
SELECT replroute.is_routable('1', '1.5');
SELECT replroute.is_routable(1, 1::real);

SELECT role FROM replroute.node_status('primary');
\echo SQLSTATE :SQLSTATE
SELECT * FROM replroute.slots('regress_replroute_slot');
\echo SQLSTATE :SQLSTATE

CALL replroute.wait_for_lsn(0);
\echo SQLSTATE :SQLSTATE
CALL replroute.wait_for_lsn('0/0'::text);
\echo SQLSTATE :SQLSTATE
CALL replroute.wait_for_lsn('"0/0"'::json);
\echo SQLSTATE :SQLSTATE
CALL replroute.wait_for_lsn(ARRAY['0/0'::pg_lsn]);
\echo SQLSTATE :SQLSTATE
CALL replroute.wait_for_lsn(ROW('0/0'::pg_lsn, 0));
\echo SQLSTATE :SQLSTATE
CALL replroute.wait_for_lsn('0/0', 1.5);
\echo SQLSTATE :SQLSTATE
CALL replroute.wait_for_lsn('0/0', '1.5');
\echo SQLSTATE :SQLSTATE
CALL replroute.wait_for_lsn('0/0', 0, 42);
\echo SQLSTATE :SQLSTATE
CALL replroute.wait_for_lsn('0/0', 0, NULL, NULL);
\echo SQLSTATE :SQLSTATE

--
-- 4. A procedure is not a function, and the functions are not procedures
--    (CALL counts OUT parameters as arguments, so for node_status(),
--    standbys() and slots() it finds no candidate at all: 42883)
--
SELECT replroute.wait_for_lsn('0/0', 0);
\echo SQLSTATE :SQLSTATE
SELECT * FROM replroute.wait_for_lsn('0/0', 0);
\echo SQLSTATE :SQLSTATE
CALL replroute.node_status();
\echo SQLSTATE :SQLSTATE
CALL replroute.is_routable();
\echo SQLSTATE :SQLSTATE
CALL replroute.is_routable(0, 0);
\echo SQLSTATE :SQLSTATE
CALL replroute.standbys();
\echo SQLSTATE :SQLSTATE
CALL replroute.slots();
\echo SQLSTATE :SQLSTATE

--
-- 5. In a FROM clause, LATERAL, ROWS FROM, a CTE, a view, a prepared
--    statement
--
SELECT * FROM replroute.is_routable();
SELECT * FROM replroute.is_routable(NULL, NULL) AS r(ok);
SELECT n.role, n.lag_bytes, n.lag_seconds, n.replay_paused
  FROM replroute.node_status() AS n;
SELECT (replroute.node_status()).role;
SELECT count(*), min(n.role), max(n.role)
  FROM generate_series(1, 3) g, LATERAL replroute.node_status() n;
SELECT g, replroute.is_routable(g, g) FROM generate_series(0, 2) g;
SELECT * FROM ROWS FROM (replroute.is_routable(), replroute.is_routable(0, 0))
  WITH ORDINALITY AS r(a, b, i);
SELECT count(*) >= 0 AS ok FROM replroute.standbys();
SELECT count(*) >= 0 AS ok FROM replroute.slots();
WITH s AS MATERIALIZED (SELECT * FROM replroute.node_status())
SELECT s1.role, s2.role FROM s s1, s s2;
CREATE TEMP VIEW regress_replroute_view AS
  SELECT role, replroute.is_routable(0, 0) AS routable FROM replroute.node_status();
SELECT * FROM regress_replroute_view;
DROP VIEW regress_replroute_view;

PREPARE regress_replroute_q(bigint, double precision) AS
  SELECT replroute.is_routable($1, $2);
EXECUTE regress_replroute_q(NULL, NULL);
EXECUTE regress_replroute_q(-1, 0);
\echo SQLSTATE :SQLSTATE
EXECUTE regress_replroute_q(0, 'NaN');
\echo SQLSTATE :SQLSTATE
SET plan_cache_mode = force_generic_plan;
EXECUTE regress_replroute_q(9223372036854775807, 'Infinity');
EXECUTE regress_replroute_q(-9223372036854775808, 0);
\echo SQLSTATE :SQLSTATE
RESET plan_cache_mode;
DEALLOCATE regress_replroute_q;

--
-- 6. Parallel query: node_status() and is_routable() are PARALLEL SAFE and
--    run in a worker (force_parallel_mode is debug_parallel_query from 16 on)
--
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SELECT set_config(CASE WHEN current_setting('server_version_num')::int >= 160000
                       THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END,
                  'on', false) AS forced;
EXPLAIN (COSTS OFF)
SELECT role, lag_bytes, lag_seconds, replay_paused FROM replroute.node_status();
SELECT role, lag_bytes, lag_seconds, replay_paused FROM replroute.node_status();
EXPLAIN (COSTS OFF) SELECT replroute.is_routable(0, 0);
SELECT replroute.is_routable(0, 0);
-- errors raised in a worker reach the leader (terse: whether a worker or,
-- when none is free, the leader ran the call shows in the CONTEXT line)
\set VERBOSITY terse
SELECT replroute.is_routable(-1, 0);
\echo SQLSTATE :SQLSTATE
\set VERBOSITY default
-- per row, in the workers of a parallel scan
CREATE TABLE regress_replroute_par AS SELECT g FROM generate_series(1, 10000) g;
EXPLAIN (COSTS OFF)
SELECT count(*) FROM regress_replroute_par
 WHERE replroute.is_routable(g, g / 1000.0)
   AND (replroute.node_status()).role = 'primary';
SELECT count(*) FROM regress_replroute_par
 WHERE replroute.is_routable(g, g / 1000.0)
   AND (replroute.node_status()).role = 'primary';
\set VERBOSITY terse
SELECT count(*) FROM regress_replroute_par
 WHERE replroute.is_routable(CASE WHEN g = 5000 THEN -1 ELSE g END, 0);
\echo SQLSTATE :SQLSTATE
\set VERBOSITY default
SELECT count(*) >= 0 AS ok FROM replroute.standbys();
SELECT count(*) >= 0 AS ok FROM replroute.slots();
DROP TABLE regress_replroute_par;
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
SELECT set_config(CASE WHEN current_setting('server_version_num')::int >= 160000
                       THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END,
                  'off', false) AS forced;

--
-- 7. Savepoints and subtransactions
--
BEGIN;
SAVEPOINT a;
SELECT replroute.is_routable(-1);
\echo SQLSTATE :SQLSTATE
ROLLBACK TO SAVEPOINT a;
SELECT role FROM replroute.node_status();
SAVEPOINT b;
CALL replroute.wait_for_lsn('0/0', 0);
\echo SQLSTATE :SQLSTATE
ROLLBACK TO SAVEPOINT b;
SET LOCAL replroute.max_lag_bytes = '1kB';
SAVEPOINT c;
SET LOCAL replroute.max_lag_bytes = '2kB';
SET LOCAL replroute.max_lag_bytes = 'lots';
\echo SQLSTATE :SQLSTATE
ROLLBACK TO SAVEPOINT c;
SHOW replroute.max_lag_bytes;
SELECT replroute.is_routable();
RELEASE SAVEPOINT a;
COMMIT;
SHOW replroute.max_lag_bytes;
-- an exception block is a subtransaction too
DO $$
BEGIN
    PERFORM replroute.is_routable(0, 'NaN');
EXCEPTION WHEN invalid_parameter_value THEN
    RAISE NOTICE 'caught %', SQLSTATE;
END
$$;

--
-- 8. PL/pgSQL and SQL routines: the functions work there; wait_for_lsn
--    refuses (it could not release the caller's snapshot) with 25000
--
CREATE FUNCTION regress_replroute_check() RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    RETURN replroute.is_routable(NULL, NULL)
       AND (SELECT role = 'primary' FROM replroute.node_status());
END
$$;
SELECT regress_replroute_check();
DROP FUNCTION regress_replroute_check();

CREATE FUNCTION regress_replroute_wait_fn(target pg_lsn) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    s text;
BEGIN
    CALL replroute.wait_for_lsn(target, 0, s);
    RETURN s;
END
$$;
SELECT regress_replroute_wait_fn('0/0');
\echo SQLSTATE :SQLSTATE
SELECT regress_replroute_wait_fn(NULL);
\echo SQLSTATE :SQLSTATE
DROP FUNCTION regress_replroute_wait_fn(pg_lsn);

CREATE PROCEDURE regress_replroute_wait_proc()
LANGUAGE plpgsql AS $$
DECLARE
    s text;
BEGIN
    CALL replroute.wait_for_lsn('0/0', 0, s);
    RAISE NOTICE 'status %', s;
END
$$;
CALL regress_replroute_wait_proc();
\echo SQLSTATE :SQLSTATE
DROP PROCEDURE regress_replroute_wait_proc();

-- (an SQL-language routine cannot even contain the CALL: INOUT status)
CREATE PROCEDURE regress_replroute_wait_sql()
LANGUAGE sql AS $$ CALL replroute.wait_for_lsn('0/0', 0) $$;
\echo SQLSTATE :SQLSTATE

-- (a plain CALL in a DO block: see bad_input.sql)
DO $$
BEGIN
    EXECUTE 'CALL replroute.wait_for_lsn(''0/0'', 0)';
END
$$;
\echo SQLSTATE :SQLSTATE
-- the refusal can be caught, and the block goes on
DO $$
DECLARE
    s text;
BEGIN
    CALL replroute.wait_for_lsn('0/0', 0, s);
EXCEPTION WHEN invalid_transaction_state THEN
    RAISE NOTICE 'refused (class %)', left(SQLSTATE, 2);
END
$$;

--
-- 9. The settings with odd values
--
SET replroute.max_lag_bytes = '0';
SHOW replroute.max_lag_bytes;
SET replroute.max_lag_bytes = 2147483647;
SHOW replroute.max_lag_bytes;
SET replroute.max_lag_bytes = '1.5kB';
SHOW replroute.max_lag_bytes;
SET replroute.max_lag_bytes = '1TB';
\echo SQLSTATE :SQLSTATE
SET replroute.max_lag_bytes = '2147483648';
\echo SQLSTATE :SQLSTATE
SET replroute.max_lag_bytes = '-1';
\echo SQLSTATE :SQLSTATE
SET replroute.max_lag_bytes = 'abc';
\echo SQLSTATE :SQLSTATE
SET replroute.max_lag_bytes = '';
\echo SQLSTATE :SQLSTATE
SET replroute.max_lag_bytes = '1s';
\echo SQLSTATE :SQLSTATE
SELECT set_config('replroute.max_lag_bytes', '-5', false);
\echo SQLSTATE :SQLSTATE
-- a failed SET leaves the last good value
SHOW replroute.max_lag_bytes;
SELECT replroute.is_routable();

-- a value with a unit is rounded to the next smaller unit (here to 0 us)
SET replroute.max_lag_seconds = '0.0001ms';
SHOW replroute.max_lag_seconds;
SET replroute.max_lag_seconds = '1e-300';
SHOW replroute.max_lag_seconds;
SET replroute.max_lag_seconds = 1e9;
SHOW replroute.max_lag_seconds;
SET replroute.max_lag_seconds = '1 min';
SHOW replroute.max_lag_seconds;
SET replroute.max_lag_seconds = '1e10';
\echo SQLSTATE :SQLSTATE
SET replroute.max_lag_seconds = 'Infinity';
\echo SQLSTATE :SQLSTATE
SET replroute.max_lag_seconds = '-Infinity';
\echo SQLSTATE :SQLSTATE
SET replroute.max_lag_seconds = 'NaN';
\echo SQLSTATE :SQLSTATE
SET replroute.max_lag_seconds = '1 kB';
\echo SQLSTATE :SQLSTATE
SHOW replroute.max_lag_seconds;
SELECT replroute.is_routable();
SET replroute.max_lag_bytes TO DEFAULT;
RESET replroute.max_lag_seconds;
SHOW replroute.max_lag_bytes;
SHOW replroute.max_lag_seconds;
SHOW replroute.no_such_setting;
\echo SQLSTATE :SQLSTATE

-- the session survived everything above
SELECT 1 AS alive;
