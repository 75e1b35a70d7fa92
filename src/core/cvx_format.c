/*-------------------------------------------------------------------------
 *
 * cvx_format.c
 *	  Convex's text for validators, values and validation errors.
 *
 * Follows get-convex/convex-backend:
 * - crates/common/src/schemas/validator.rs: Display of Validator,
 *	 FieldValidator (v.optional), LiteralValidator (JSON via serde_json;
 *	 <bigint>, <number>), ValidationError and ValidationContext.
 * - crates/value/src/lib.rs, object.rs, array.rs, bytes.rs, utils.rs:
 *	 Display of ConvexValue: null, true, int64 as 123, float64 as Rust's
 *	 {:?} (123.0, 1e16, NaN, inf, -0.0), strings as Rust's {:?},
 *	 bytes as b"<base64>", [a, b], {k: v} with keys in byte order.
 *
 * Values are displayed at most CVX_DISPLAY_MAX_DEPTH levels deep and cut
 * at max_length bytes, so hostile input cannot exhaust the stack or
 * memory.  All output is valid UTF-8.
 *
 *-------------------------------------------------------------------------
 */
#include "cvx_validator_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Containers deeper than this show as "..." (Convex allows 64) */
#define CVX_DISPLAY_MAX_DEPTH CVX_MAX_NESTING

/* A growing output string, cut at limit bytes */
typedef struct CvxBuf
{
	char	   *data;
	size_t		len;
	size_t		cap;
	size_t		limit;
	bool		cut;
	bool		oom;
} CvxBuf;

/* Start an empty buffer; limit 0 means none */
static void
cvx_buf_init(CvxBuf *b, size_t limit)
{
	memset(b, 0, sizeof(*b));
	b->limit = limit == CVX_DISPLAY_UNLIMITED ? SIZE_MAX / 4 : limit;
}

/* Make room for extra more bytes plus a NUL */
static bool
cvx_buf_reserve(CvxBuf *b, size_t extra)
{
	size_t		need;
	char	   *p;

	if (b->oom || extra > SIZE_MAX / 4 - b->len)
	{
		b->oom = true;
		return false;
	}
	need = b->len + extra + 1;
	if (need <= b->cap)
		return true;
	if (need < 64)
		need = 64;
	if (need < b->cap * 2 && b->cap * 2 < SIZE_MAX / 4)
		need = b->cap * 2;
	p = realloc(b->data, need);
	if (p == NULL)
	{
		b->oom = true;
		return false;
	}
	b->data = p;
	b->cap = need;
	return true;
}

/* Append n bytes, stopping at the limit */
static void
cvx_buf_put(CvxBuf *b, const char *s, size_t n)
{
	if (b->cut || b->oom)
		return;
	if (n > b->limit - b->len)
	{
		n = b->limit - b->len;
		b->cut = true;
	}
	if (n == 0 || !cvx_buf_reserve(b, n))
		return;
	memcpy(b->data + b->len, s, n);
	b->len += n;
}

/* Append a C string */
static void
cvx_buf_puts(CvxBuf *b, const char *s)
{
	cvx_buf_put(b, s, strlen(s));
}

/* Return the malloc'd string: cut at a character boundary, then "..." */
static char *
cvx_buf_finish(CvxBuf *b)
{
	if (b->cut && !b->oom)
	{
		size_t		j = b->len;

		while (j > 0 && b->len - j < 3 && ((unsigned char) b->data[j - 1] & 0xc0) == 0x80)
			j--;
		if (j > 0)
		{
			unsigned char lead = (unsigned char) b->data[j - 1];
			size_t		want = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;

			if (b->len - (j - 1) < want)
				b->len = j - 1;
		}
		if (cvx_buf_reserve(b, 3))
		{
			memcpy(b->data + b->len, "...", 3);
			b->len += 3;
		}
	}
	if (!b->oom && cvx_buf_reserve(b, 0))
	{
		b->data[b->len] = '\0';
		return b->data;
	}
	free(b->data);
	return NULL;
}

/*
 * Decode one UTF-8 character of s (len > 0).  Returns the code point and
 * sets *n, or returns -1 (with *n = 1) for an invalid byte.
 */
static int32_t
cvx_utf8_next(const char *s, size_t len, size_t *n)
{
	unsigned char c = (unsigned char) s[0];
	size_t		need;
	uint32_t	cp;
	size_t		k;

	*n = 1;
	if (c < 0x80)
		return c;
	if (c >= 0xc2 && c <= 0xdf)
	{
		need = 2;
		cp = c & 0x1f;
	}
	else if (c >= 0xe0 && c <= 0xef)
	{
		need = 3;
		cp = c & 0x0f;
	}
	else if (c >= 0xf0 && c <= 0xf4)
	{
		need = 4;
		cp = c & 0x07;
	}
	else
		return -1;
	if (len < need)
		return -1;
	for (k = 1; k < need; k++)
	{
		unsigned char cc = (unsigned char) s[k];

		if ((cc & 0xc0) != 0x80)
			return -1;
		cp = (cp << 6) | (cc & 0x3f);
	}
	if ((need == 3 && cp < 0x800) || (need == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
		(cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*n = need;
	return (int32_t) cp;
}

/*
 * Does Rust's {:?} escape this non-ASCII character?  An approximation of
 * core::unicode::printable: C1 controls, NBSP, soft hyphen, combining
 * diacritics, invisible formatting characters, private use and specials.
 */
static bool
cvx_rust_escapes(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0xa0) || cp == 0xad ||
		(cp >= 0x300 && cp <= 0x36f) ||
		(cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202e) ||
		(cp >= 0x2060 && cp <= 0x206f) || cp == 0xfeff ||
		(cp >= 0xe000 && cp <= 0xf8ff) || (cp >= 0xfff0 && cp <= 0xfffb) ||
		cp == 0xfffe || cp == 0xffff || cp >= 0xe0000;
}

#define CVX_REPLACEMENT "\xef\xbf\xbd"

/* A string as Rust's {:?} shows it: "a\"b\n\u{1}" */
static void
cvx_put_rust_string(CvxBuf *b, const char *s, size_t len)
{
	size_t		i = 0;

	cvx_buf_put(b, "\"", 1);
	while (i < len && !b->cut)
	{
		unsigned char c = (unsigned char) s[i];
		char		esc[16];
		size_t		n;
		int32_t		cp;

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
		{
			size_t		run = i;

			while (run < len && (unsigned char) s[run] >= 0x20 && (unsigned char) s[run] < 0x7f &&
				   s[run] != '"' && s[run] != '\\')
				run++;
			cvx_buf_put(b, s + i, run - i);
			i = run;
			continue;
		}
		cp = cvx_utf8_next(s + i, len - i, &n);
		if (cp < 0)
			cvx_buf_puts(b, CVX_REPLACEMENT);
		else if (cp == '"')
			cvx_buf_puts(b, "\\\"");
		else if (cp == '\\')
			cvx_buf_puts(b, "\\\\");
		else if (cp == '\n')
			cvx_buf_puts(b, "\\n");
		else if (cp == '\r')
			cvx_buf_puts(b, "\\r");
		else if (cp == '\t')
			cvx_buf_puts(b, "\\t");
		else if (cp == 0)
			cvx_buf_puts(b, "\\0");
		else if (cp < 0x80 || cvx_rust_escapes((uint32_t) cp))
		{
			snprintf(esc, sizeof(esc), "\\u{%" PRIx32 "}", (uint32_t) cp);
			cvx_buf_puts(b, esc);
		}
		else
			cvx_buf_put(b, s + i, n);
		i += n;
	}
	cvx_buf_put(b, "\"", 1);
}

/* A string as serde_json writes it: "a\"b\n\u0001" */
static void
cvx_put_json_string(CvxBuf *b, const char *s, size_t len)
{
	size_t		i = 0;

	cvx_buf_put(b, "\"", 1);
	while (i < len && !b->cut)
	{
		unsigned char c = (unsigned char) s[i];
		char		esc[16];
		size_t		n = 1;

		if (c == '"')
			cvx_buf_puts(b, "\\\"");
		else if (c == '\\')
			cvx_buf_puts(b, "\\\\");
		else if (c == '\n')
			cvx_buf_puts(b, "\\n");
		else if (c == '\r')
			cvx_buf_puts(b, "\\r");
		else if (c == '\t')
			cvx_buf_puts(b, "\\t");
		else if (c == '\b')
			cvx_buf_puts(b, "\\b");
		else if (c == '\f')
			cvx_buf_puts(b, "\\f");
		else if (c < 0x20)
		{
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			cvx_buf_puts(b, esc);
		}
		else if (c < 0x80)
			cvx_buf_put(b, s + i, 1);
		else if (cvx_utf8_next(s + i, len - i, &n) < 0)
			cvx_buf_puts(b, CVX_REPLACEMENT);
		else
			cvx_buf_put(b, s + i, n);
		i += n;
	}
	cvx_buf_put(b, "\"", 1);
}

/* Text shown as is (field names, paths), with invalid UTF-8 replaced */
static void
cvx_put_raw(CvxBuf *b, const char *s, size_t len)
{
	size_t		i = 0;

	while (i < len && !b->cut)
	{
		size_t		n;

		if (cvx_utf8_next(s + i, len - i, &n) < 0)
			cvx_buf_puts(b, CVX_REPLACEMENT);
		else
			cvx_buf_put(b, s + i, n);
		i += n;
	}
}

/* Split "%.*e" output into its digits and decimal exponent */
static int
cvx_split_e(const char *text, char digits[24], int *exp10)
{
	const char *p;
	int			n = 0;

	for (p = text; *p != '\0' && *p != 'e' && *p != 'E'; p++)
		if (*p >= '0' && *p <= '9' && n < 23)
			digits[n++] = *p;
	digits[n] = '\0';
	*exp10 = *p != '\0' ? atoi(p + 1) : 0;
	return n;
}

/* Does digits[0].digits[1..] x 10^exp10 read back as a? */
static bool
cvx_digits_read_back(const char *digits, int n, int exp10, double a)
{
	char		text[64];

	snprintf(text, sizeof(text), "%c.%se%d", digits[0], n > 1 ? digits + 1 : "0", exp10);
	return strtod(text, NULL) == a;
}

/*
 * Did "%.*e" round a exactly halfway case down (glibc rounds ties to
 * even)?  Rust and ryu take the upper one.  A double's exact decimal
 * expansion has at most 767 significant digits.
 */
static bool
cvx_is_tie_down(double a, int prec, const char *rounded)
{
	static const int exact_prec = 780;
	char		exact[820];
	char		exact_digits[24];
	int			dummy;
	const char *p;
	int			seen = 0;

	snprintf(exact, sizeof(exact), "%.*e", exact_prec, a);
	cvx_split_e(exact, exact_digits, &dummy);
	if (memcmp(exact_digits, rounded, (size_t) prec + 1) != 0)
		return false;			/* rounded up, or not a tie */
	/* the digit after the kept ones must be 5 and the rest 0 */
	for (p = exact; *p != '\0' && *p != 'e' && *p != 'E'; p++)
	{
		if (*p < '0' || *p > '9')
			continue;
		if (seen == prec + 1 && *p != '5')
			return false;
		if (seen > prec + 1 && *p != '0')
			return false;
		seen++;
	}
	return seen > prec + 1;
}

/*
 * The shortest decimal digits that read back as a (> 0, finite), as Rust
 * and ryu find them: writes them to digits (no dot) and returns their
 * count; a = 0.digits x 10^k.  The correctly rounded p-digit decimal is
 * tried first; just above a power of two the rounding interval is wider
 * upwards, so the next p-digit decimal up may read back when it does not.
 */
static int
cvx_shortest_digits(double a, char digits[24], int *k)
{
	char		text[64];
	int			prec;
	int			n = 0;
	int			exp10 = 0;

	for (prec = 0; prec <= 16; prec++)
	{
		char		up[24];
		int			up_exp;
		int			i;

		snprintf(text, sizeof(text), "%.*e", prec, a);
		n = cvx_split_e(text, digits, &exp10);
		if ((strtod(text, NULL) == a || prec == 16) && !cvx_is_tie_down(a, prec, digits))
			break;
		if (strtod(text, NULL) > a)
			continue;
		/* the next decimal up with as many digits */
		memcpy(up, digits, (size_t) n + 1);
		up_exp = exp10;
		for (i = n - 1; i >= 0 && up[i] == '9'; i--)
			up[i] = '0';
		if (i >= 0)
			up[i]++;
		else
		{
			up[0] = '1';
			up_exp++;
		}
		if (cvx_digits_read_back(up, n, up_exp, a))
		{
			memcpy(digits, up, (size_t) n + 1);
			exp10 = up_exp;
			break;
		}
	}
	*k = exp10 + 1;
	while (n > 1 && digits[n - 1] == '0')
		n--;
	digits[n] = '\0';
	return n;
}

/* Append count zeros */
static void
cvx_put_zeros(CvxBuf *b, int count)
{
	while (count-- > 0 && !b->cut)
		cvx_buf_put(b, "0", 1);
}

/*
 * A float64 the way Rust's {:?} (value display) or serde_json / ryu
 * (literal display) writes it.  They differ only in when they switch to
 * exponents: Rust below 1e-4, ryu below 1e-5; both from 1e16 up.
 */
static void
cvx_put_float(CvxBuf *b, double d, bool ryu)
{
	uint64_t	bits;
	unsigned	exponent;
	char		digits[24];
	char		exp_text[16];
	int			n;
	int			k;
	bool		scientific;

	memcpy(&bits, &d, sizeof(bits));
	exponent = (unsigned) ((bits >> 52) & 0x7ff);
	if (exponent == 0x7ff)
	{
		if ((bits & ((UINT64_C(1) << 52) - 1)) != 0)
			cvx_buf_puts(b, ryu ? "<number>" : "NaN");
		else
			cvx_buf_puts(b, ryu ? "<number>" : (bits >> 63) ? "-inf" : "inf");
		return;
	}
	if (bits >> 63)
	{
		cvx_buf_put(b, "-", 1);
		d = -d;
	}
	if (d == 0)
	{
		cvx_buf_puts(b, "0.0");
		return;
	}
	n = cvx_shortest_digits(d, digits, &k);
	scientific = ryu ? (k > 16 || k <= -5) : (d < 1e-4 || d >= 1e16);
	if (scientific)
	{
		cvx_buf_put(b, digits, 1);
		if (n > 1)
		{
			cvx_buf_put(b, ".", 1);
			cvx_buf_put(b, digits + 1, (size_t) n - 1);
		}
		snprintf(exp_text, sizeof(exp_text), "e%d", k - 1);
		cvx_buf_puts(b, exp_text);
	}
	else if (k <= 0)
	{
		cvx_buf_puts(b, "0.");
		cvx_put_zeros(b, -k);
		cvx_buf_put(b, digits, (size_t) n);
	}
	else if (k < n)
	{
		cvx_buf_put(b, digits, (size_t) k);
		cvx_buf_put(b, ".", 1);
		cvx_buf_put(b, digits + k, (size_t) (n - k));
	}
	else
	{
		cvx_buf_put(b, digits, (size_t) n);
		cvx_put_zeros(b, k - n);
		cvx_buf_puts(b, ".0");
	}
}

static void cvx_put_value(CvxBuf *b, const CvxValue *value, const CvxValueOps *ops,
						  int depth);

typedef struct CvxDisplayArg
{
	CvxBuf	   *b;
	const CvxValueOps *ops;
	int			depth;
} CvxDisplayArg;

/* Visitor: one array element, comma-separated */
static bool
cvx_put_element(void *arg, size_t index, const CvxValue *value)
{
	CvxDisplayArg *a = arg;

	if (index > 0)
		cvx_buf_puts(a->b, ", ");
	cvx_put_value(a->b, value, a->ops, a->depth);
	return !a->b->cut && !a->b->oom;
}

typedef struct CvxEntry
{
	const char *key;
	size_t		key_len;
	CvxValue	value;
} CvxEntry;

typedef struct CvxEntries
{
	CvxEntry   *items;
	size_t		n;
	size_t		cap;
	bool		oom;
} CvxEntries;

/* Visitor: collect an object's fields */
static bool
cvx_collect_entry(void *arg, const char *key, size_t key_len, const CvxValue *value)
{
	CvxEntries *e = arg;

	if (e->n == e->cap)
	{
		size_t		cap = e->cap < 8 ? 8 : e->cap * 2;
		CvxEntry   *p = cap < SIZE_MAX / sizeof(CvxEntry) ?
			realloc(e->items, cap * sizeof(CvxEntry)) : NULL;

		if (p == NULL)
		{
			e->oom = true;
			return false;
		}
		e->items = p;
		e->cap = cap;
	}
	e->items[e->n].key = key;
	e->items[e->n].key_len = key_len;
	e->items[e->n].value = *value;
	e->n++;
	return true;
}

/* Order entries by key */
static int
cvx_entry_order(const void *a, const void *b)
{
	const CvxEntry *ea = a;
	const CvxEntry *eb = b;

	return cvx_key_compare(ea->key, ea->key_len, eb->key, eb->key_len);
}

/* {a: 1.0, b: "x"}, keys in byte order */
static void
cvx_put_object(CvxBuf *b, const CvxValue *value, const CvxValueOps *ops, int depth)
{
	CvxEntries	e;
	size_t		i;

	memset(&e, 0, sizeof(e));
	ops->object_foreach(value, cvx_collect_entry, &e);
	if (e.oom)
	{
		free(e.items);
		b->oom = true;
		return;
	}
	if (e.n > 1)
		qsort(e.items, e.n, sizeof(CvxEntry), cvx_entry_order);
	cvx_buf_put(b, "{", 1);
	for (i = 0; i < e.n && !b->cut && !b->oom; i++)
	{
		if (i > 0)
			cvx_buf_puts(b, ", ");
		cvx_put_raw(b, e.items[i].key, e.items[i].key_len);
		cvx_buf_puts(b, ": ");
		cvx_put_value(b, &e.items[i].value, ops, depth + 1);
	}
	cvx_buf_put(b, "}", 1);
	free(e.items);
}

/* One value, as ConvexValue's Display writes it */
static void
cvx_put_value(CvxBuf *b, const CvxValue *value, const CvxValueOps *ops, int depth)
{
	CvxClassified c;
	char		num[32];

	if (b->cut || b->oom)
		return;
	switch (value->type)
	{
		case CVX_T_NULL:
			cvx_buf_puts(b, "null");
			return;
		case CVX_T_BOOLEAN:
			cvx_buf_puts(b, value->boolean ? "true" : "false");
			return;
		case CVX_T_NUMBER:
			cvx_put_float(b, ops->number(value), false);
			return;
		case CVX_T_STRING:
			cvx_put_rust_string(b, value->str, value->len);
			return;
		case CVX_T_ARRAY:
		case CVX_T_OBJECT:
			break;
		default:
			cvx_buf_puts(b, "?");
			return;
	}
	if (depth >= CVX_DISPLAY_MAX_DEPTH)
	{
		cvx_buf_puts(b, "...");
		return;
	}
	if (value->type == CVX_T_ARRAY)
	{
		CvxDisplayArg a;

		a.b = b;
		a.ops = ops;
		a.depth = depth + 1;
		cvx_buf_put(b, "[", 1);
		ops->array_foreach(value, cvx_put_element, &a);
		cvx_buf_put(b, "]", 1);
		return;
	}
	cvx_classify(value, ops, &c);
	switch (c.cls)
	{
		case CVX_C_INT64:
			snprintf(num, sizeof(num), "%" PRId64, c.i);
			cvx_buf_puts(b, num);
			return;
		case CVX_C_FLOAT64:
			cvx_put_float(b, c.f, false);
			return;
		case CVX_C_BYTES:
			{
				size_t		n = c.payload_len;

				while (n > 0 && c.payload[n - 1] == '=')
					n--;
				cvx_buf_puts(b, "b\"");
				cvx_buf_put(b, c.payload, n);
				cvx_buf_puts(b, n % 4 == 2 ? "==" : n % 4 == 3 ? "=" : "");
				cvx_buf_puts(b, "\"");
				return;
			}
		default:
			cvx_put_object(b, value, ops, depth);
			return;
	}
}

/* Convex's display of a value, cut at max_length bytes */
char *
cvx_value_display(const CvxValue *value, const CvxValueOps *ops, size_t max_length)
{
	CvxBuf		b;

	cvx_buf_init(&b, max_length);
	if (value == NULL || ops == NULL)
		cvx_buf_puts(&b, "?");
	else
		cvx_put_value(&b, value, ops, 0);
	return cvx_buf_finish(&b);
}

/* A literal as LiteralValidator's Display writes it */
static void
cvx_put_literal(CvxBuf *b, const CvxValidator *v)
{
	switch (v->literal_kind)
	{
		case CVX_LIT_STRING:
			cvx_put_json_string(b, v->literal_str, v->literal_len);
			break;
		case CVX_LIT_FLOAT64:
			cvx_put_float(b, v->literal_float, true);
			break;
		case CVX_LIT_INT64:
			cvx_buf_puts(b, "<bigint>");
			break;
		case CVX_LIT_BOOLEAN:
			cvx_buf_puts(b, v->literal_bool ? "true" : "false");
			break;
	}
}

/* One validator, as Validator's Display writes it */
static void
cvx_put_validator(CvxBuf *b, const CvxValidator *v)
{
	size_t		i;

	if (v == NULL)
	{
		cvx_buf_puts(b, "?");
		return;
	}
	switch (v->kind)
	{
		case CVX_V_ANY:
			cvx_buf_puts(b, "v.any()");
			break;
		case CVX_V_NULL:
			cvx_buf_puts(b, "v.null()");
			break;
		case CVX_V_NUMBER:
			cvx_buf_puts(b, "v.float64()");
			break;
		case CVX_V_BIGINT:
			cvx_buf_puts(b, "v.int64()");
			break;
		case CVX_V_BOOLEAN:
			cvx_buf_puts(b, "v.boolean()");
			break;
		case CVX_V_STRING:
			cvx_buf_puts(b, "v.string()");
			break;
		case CVX_V_BYTES:
			cvx_buf_puts(b, "v.bytes()");
			break;
		case CVX_V_ID:
			cvx_buf_puts(b, "v.id(\"");
			cvx_buf_puts(b, v->table);
			cvx_buf_puts(b, "\")");
			break;
		case CVX_V_LITERAL:
			cvx_buf_puts(b, "v.literal(");
			cvx_put_literal(b, v);
			cvx_buf_puts(b, ")");
			break;
		case CVX_V_ARRAY:
			cvx_buf_puts(b, "v.array(");
			cvx_put_validator(b, v->element);
			cvx_buf_puts(b, ")");
			break;
		case CVX_V_RECORD:
			cvx_buf_puts(b, "v.record(");
			cvx_put_validator(b, v->keys);
			cvx_buf_puts(b, ", ");
			cvx_put_validator(b, v->element);
			cvx_buf_puts(b, ")");
			break;
		case CVX_V_OBJECT:
			cvx_buf_puts(b, "v.object({");
			for (i = 0; i < v->nfields; i++)
			{
				if (i > 0)
					cvx_buf_puts(b, ", ");
				cvx_buf_puts(b, v->fields[i].name);
				cvx_buf_puts(b, ": ");
				if (v->fields[i].optional)
					cvx_buf_puts(b, "v.optional(");
				cvx_put_validator(b, v->fields[i].validator);
				if (v->fields[i].optional)
					cvx_buf_puts(b, ")");
			}
			cvx_buf_puts(b, "})");
			break;
		case CVX_V_UNION:
			cvx_buf_puts(b, "v.union(");
			for (i = 0; i < v->nmembers; i++)
			{
				if (i > 0)
					cvx_buf_puts(b, ", ");
				cvx_put_validator(b, v->members[i]);
			}
			cvx_buf_puts(b, ")");
			break;
	}
}

/* Convex's display of a validator */
char *
cvx_validator_display(const CvxValidator *validator)
{
	CvxBuf		b;

	cvx_buf_init(&b, CVX_DISPLAY_UNLIMITED);
	cvx_put_validator(&b, validator);
	return cvx_buf_finish(&b);
}

/* Append a value's display, cut at CVX_ERROR_VALUE_MAX_LENGTH */
static void
cvx_put_error_value(CvxBuf *b, const CvxValue *value, const CvxValueOps *ops)
{
	char	   *shown = cvx_value_display(value, ops, CVX_ERROR_VALUE_MAX_LENGTH);

	if (shown == NULL)
		b->oom = true;
	else
		cvx_buf_puts(b, shown);
	free(shown);
}

/* Length of a NUL-terminated string in a fixed buffer */
static size_t
cvx_bounded_len(const char *s, size_t size)
{
	const char *end = memchr(s, '\0', size);

	return end != NULL ? (size_t) (end - s) : size;
}

/* ValidationContext's Display: "Path: .a[0]" or nothing at the top */
static void
cvx_put_context(CvxBuf *b, const CvxCheckError *error)
{
	if (error->path[0] != '\0')
	{
		cvx_buf_puts(b, "Path: ");
		cvx_put_raw(b, error->path, cvx_bounded_len(error->path, CVX_PATH_MAX));
	}
}

/* The whole message for a failed check, in ValidationError's words */
char *
cvx_check_error_message(const CvxCheckError *error, const CvxCheckContext *context)
{
	const CvxValueOps *ops = context != NULL ? context->ops : NULL;
	const CvxValidator *v;
	CvxBuf		b;

	cvx_buf_init(&b, CVX_DISPLAY_UNLIMITED);
	if (error == NULL)
		return cvx_buf_finish(&b);
	v = error->validator;
	switch (error->kind)
	{
		case CVX_CHECK_OK:
			break;
		case CVX_CHECK_NO_MATCH:
			cvx_buf_puts(&b, "Value does not match validator.\n");
			cvx_put_context(&b, error);
			cvx_buf_puts(&b, "\nValue: ");
			cvx_put_error_value(&b, &error->value, ops);
			cvx_buf_puts(&b, "\nValidator: ");
			cvx_put_validator(&b, v);
			break;
		case CVX_CHECK_MISSING_FIELD:
		case CVX_CHECK_EXTRA_FIELD:
			if (error->kind == CVX_CHECK_MISSING_FIELD)
				cvx_buf_puts(&b, "Object is missing the required field `");
			else
				cvx_buf_puts(&b, "Object contains extra field `");
			cvx_put_raw(&b, error->field, cvx_bounded_len(error->field, CVX_NAME_MAX));
			if (error->kind == CVX_CHECK_MISSING_FIELD)
				cvx_buf_puts(&b, "`. Consider wrapping the field validator in `v.optional(...)` if this is expected.\n");
			else
				cvx_buf_puts(&b, "` that is not in the validator.\n");
			cvx_put_context(&b, error);
			cvx_buf_puts(&b, "\nObject: ");
			cvx_put_error_value(&b, &error->value, ops);
			cvx_buf_puts(&b, "\nValidator: ");
			cvx_put_validator(&b, v);
			break;
		case CVX_CHECK_ID_TABLE_MISMATCH:
		case CVX_CHECK_ID_SYSTEM_TABLE:
			cvx_buf_puts(&b, "Found ID \"");
			if (error->value.type == CVX_T_STRING)
				cvx_put_raw(&b, error->value.str, error->value.len);
			if (error->kind == CVX_CHECK_ID_TABLE_MISMATCH)
			{
				cvx_buf_puts(&b, "\" from table `");
				cvx_put_raw(&b, error->found_table, cvx_bounded_len(error->found_table, CVX_NAME_MAX));
				cvx_buf_puts(&b, "`, which");
			}
			else
				cvx_buf_puts(&b, "\" from a system table, which");
			cvx_buf_puts(&b, " does not match the table name in validator `");
			cvx_put_validator(&b, v);
			cvx_buf_puts(&b, "`.");
			cvx_put_context(&b, error);
			break;
		case CVX_CHECK_LITERAL_MISMATCH:
			cvx_buf_puts(&b, "`");
			cvx_put_error_value(&b, &error->value, ops);
			cvx_buf_puts(&b, "` does not match literal validator `");
			cvx_put_validator(&b, v);
			cvx_buf_puts(&b, "`.");
			cvx_put_context(&b, error);
			break;
	}
	return cvx_buf_finish(&b);
}
