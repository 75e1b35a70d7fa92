-- test/pgtap/lib/convex_ids.sql: included (\ir) by pgTAP files inside their
-- transaction.  Convex document ids and upload tokens made independently of
-- convexlite (SPEC §2; test/pgtap/ids.sql checks convexlite against these):
--   b32_encode(bytea) / b32_decode(text): lowercase Crockford base32, most
--     significant bits first, zero padding;
--   fletcher16(bytea): Fletcher-16 with modulus 256, as Convex computes it,
--     (c1 << 8) | c0;
--   byte(int): one byte;
--   make_id(table_number, random, day): an id, varint(table) || 14 random
--     bytes || day (2 bytes BE) || fletcher16 footer (LE), in base32;
--   token_for(random): the upload token for 16 bytes, their hex, then their
--     Fletcher-16, low byte (c0) first (well-formed, never handed out).
CREATE SCHEMA IF NOT EXISTS regress_cvx_tap;

CREATE FUNCTION regress_cvx_tap.b32_encode(b bytea) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT AS $f$
DECLARE
    alphabet constant text := '0123456789abcdefghjkmnpqrstvwxyz';
    acc bigint := 0;
    nbits int := 0;
    result text := '';
BEGIN
    FOR i IN 0 .. length(b) - 1 LOOP
        acc := (acc << 8) | get_byte(b, i);
        nbits := nbits + 8;
        WHILE nbits >= 5 LOOP
            nbits := nbits - 5;
            result := result || substr(alphabet, ((acc >> nbits) & 31)::int + 1, 1);
        END LOOP;
        acc := acc & ((1::bigint << nbits) - 1);
    END LOOP;
    IF nbits > 0 THEN
        result := result || substr(alphabet, ((acc << (5 - nbits)) & 31)::int + 1, 1);
    END IF;
    RETURN result;
END;
$f$;

CREATE FUNCTION regress_cvx_tap.b32_decode(s text) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE STRICT AS $f$
DECLARE
    alphabet constant text := '0123456789abcdefghjkmnpqrstvwxyz';
    acc bigint := 0;
    nbits int := 0;
    v int;
    result bytea := '';
BEGIN
    FOR i IN 1 .. length(s) LOOP
        v := strpos(alphabet, substr(s, i, 1)) - 1;
        IF v < 0 THEN
            RAISE EXCEPTION 'not base32: %', s;
        END IF;
        acc := ((acc << 5) | v) & 4095;
        nbits := nbits + 5;
        IF nbits >= 8 THEN
            nbits := nbits - 8;
            result := result || decode(lpad(to_hex(((acc >> nbits) & 255)::int), 2, '0'), 'hex');
        END IF;
    END LOOP;
    RETURN result;
END;
$f$;

CREATE FUNCTION regress_cvx_tap.fletcher16(b bytea) RETURNS int
LANGUAGE plpgsql IMMUTABLE STRICT AS $f$
DECLARE
    c0 int := 0;
    c1 int := 0;
BEGIN
    FOR i IN 0 .. length(b) - 1 LOOP
        c0 := (c0 + get_byte(b, i)) % 256;
        c1 := (c1 + c0) % 256;
    END LOOP;
    RETURN (c1 << 8) | c0;
END;
$f$;

CREATE FUNCTION regress_cvx_tap.byte(v int) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT AS $f$ SELECT decode(lpad(to_hex(v), 2, '0'), 'hex') $f$;

CREATE FUNCTION regress_cvx_tap.make_id(table_number bigint, random bytea, day int) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT AS $f$
DECLARE
    n bigint := table_number;
    b bytea := '';
    footer int;
BEGIN
    IF length(random) <> 14 THEN
        RAISE EXCEPTION 'random must be 14 bytes';
    END IF;
    WHILE n >= 128 LOOP
        b := b || regress_cvx_tap.byte(((n & 127) | 128)::int);
        n := n >> 7;
    END LOOP;
    b := b || regress_cvx_tap.byte(n::int) || random
           || regress_cvx_tap.byte(day >> 8) || regress_cvx_tap.byte(day & 255);
    footer := regress_cvx_tap.fletcher16(b);
    b := b || regress_cvx_tap.byte(footer & 255) || regress_cvx_tap.byte(footer >> 8);
    RETURN regress_cvx_tap.b32_encode(b);
END;
$f$;

CREATE FUNCTION regress_cvx_tap.token_for(random bytea) RETURNS text
LANGUAGE sql IMMUTABLE AS $f$
    SELECT encode(random, 'hex')
           || encode(regress_cvx_tap.byte(f & 255), 'hex') || encode(regress_cvx_tap.byte(f >> 8), 'hex')
      FROM regress_cvx_tap.fletcher16(random) AS f
$f$;
