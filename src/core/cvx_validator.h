/*-------------------------------------------------------------------------
 *
 * cvx_validator.h
 *	  Convex validators: compile a ValidatorJSON document once, then check
 *	  values against it and explain failures in Convex's words.
 *
 * Part of the convexlite core, which builds and is tested without
 * PostgreSQL.  The engine never parses JSON text while checking: values are
 * reached through CvxValueOps, so the same engine checks a json-c tree (unit
 * tests, fuzzing) and a PostgreSQL jsonb datum in place (the extension).
 *
 * Memory: compiled validators and formatted messages are malloc'd and
 * owned by the caller.  Checking allocates nothing and never longjmps.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CVX_VALIDATOR_H
#define CVX_VALIDATOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;

/* Validator kinds, as named by ValidatorJSON's "type" */
typedef enum CvxValidatorKind
{
	CVX_V_ANY,
	CVX_V_NULL,
	CVX_V_NUMBER,				/* "number": float64, shown as v.float64() */
	CVX_V_BIGINT,				/* "bigint": int64, shown as v.int64() */
	CVX_V_BOOLEAN,
	CVX_V_STRING,
	CVX_V_BYTES,
	CVX_V_ID,
	CVX_V_LITERAL,
	CVX_V_ARRAY,
	CVX_V_OBJECT,
	CVX_V_UNION,
	CVX_V_RECORD
} CvxValidatorKind;

typedef struct CvxValidator CvxValidator;

/* One field of an object validator; fields are kept sorted by name */
typedef struct CvxFieldValidator
{
	char	   *name;			/* NUL-terminated */
	size_t		name_len;
	bool		optional;
	CvxValidator *validator;
} CvxFieldValidator;

/* The JSON types a value can have, as seen through CvxValueOps */
typedef enum CvxValueType
{
	CVX_T_NULL,
	CVX_T_BOOLEAN,
	CVX_T_NUMBER,
	CVX_T_STRING,
	CVX_T_ARRAY,
	CVX_T_OBJECT
} CvxValueType;

/*
 * A value seen through an adapter.  Scalars are filled in directly
 * (strings point into the adapter's storage and need not be
 * NUL-terminated); numbers, arrays and objects keep an adapter handle.
 */
typedef struct CvxValue
{
	CvxValueType type;
	bool		boolean;
	const char *str;
	size_t		len;
	const void *handle;
	const void *handle2;		/* spare slot for the adapter */
} CvxValue;

/* Called for each object field; return false to stop */
typedef bool (*CvxFieldVisitor) (void *arg, const char *key, size_t key_len,
								 const CvxValue *value);

/* Called for each array element; return false to stop */
typedef bool (*CvxElementVisitor) (void *arg, size_t index, const CvxValue *value);

/* How the engine reads values of one representation */
typedef struct CvxValueOps
{
	/* the float64 value of a CVX_T_NUMBER */
	double		(*number) (const CvxValue *value);
	/* element count of an array, field count of an object */
	size_t		(*size) (const CvxValue *container);
	/* look up an object field; false if absent */
	bool		(*object_get) (const CvxValue *object, const char *key,
							   size_t key_len, CvxValue *out);
	/* visit an object's fields; returns false if the visitor stopped */
	bool		(*object_foreach) (const CvxValue *object, CvxFieldVisitor visit,
								   void *arg);
	/* visit an array's elements in order; false if the visitor stopped */
	bool		(*array_foreach) (const CvxValue *array, CvxElementVisitor visit,
								  void *arg);
} CvxValueOps;

/* Resolves a table number to its name (NULL when no table has it) */
typedef const char *(*CvxTableNameLookup) (void *arg, uint32_t table_number);

/* What a check needs besides the value and the validator */
typedef struct CvxCheckContext
{
	const CvxValueOps *ops;
	CvxTableNameLookup table_name;
	void	   *table_arg;
} CvxCheckContext;

/* Why a value failed a validator (Convex's ValidationError variants) */
typedef enum CvxCheckErrorKind
{
	CVX_CHECK_OK = 0,
	CVX_CHECK_NO_MATCH,			/* Value does not match validator. */
	CVX_CHECK_MISSING_FIELD,	/* Object is missing the required field `f`. */
	CVX_CHECK_EXTRA_FIELD,		/* Object contains extra field `f` ... */
	CVX_CHECK_ID_TABLE_MISMATCH,	/* Found ID "…" from table `t`, ... */
	CVX_CHECK_ID_SYSTEM_TABLE,	/* Found ID "…" from a system table, ... */
	CVX_CHECK_LITERAL_MISMATCH	/* `x` does not match literal validator ... */
} CvxCheckErrorKind;

#define CVX_PATH_MAX 1024
#define CVX_NAME_MAX 256

/* The first failure found by cvx_check, with what is needed to explain it */
typedef struct CvxCheckError
{
	CvxCheckErrorKind kind;
	char		path[CVX_PATH_MAX];	/* ".data.cursor.x", "[3]", "" at top */
	CvxValue	value;			/* offending value; the object for
								 * missing/extra field errors */
	const CvxValidator *validator;	/* failing validator; the object
									 * validator for missing/extra */
	char		field[CVX_NAME_MAX];	/* missing or extra field name */
	char		found_table[CVX_NAME_MAX];	/* table of a mismatched id */
} CvxCheckError;

/* Why a ValidatorJSON document could not be compiled */
typedef struct CvxCompileError
{
	char		message[512];
} CvxCompileError;

/*
 * Compile a ValidatorJSON document (e.g. {"type":"string"}).  Returns NULL
 * and fills *error when the document is not a valid validator.
 */
extern CvxValidator *cvx_validator_compile(struct json_object *json,
										   CvxCompileError *error);

/*
 * Compile the "value" of an object validator, i.e. a map from field name
 * to {"fieldType": V, "optional": bool}, into an object validator.  This is
 * the shape of convex_define_table's fields and of a function's args.
 */
extern CvxValidator *cvx_validator_compile_fields(struct json_object *fields,
												  CvxCompileError *error);

/* Compile from JSON text (convenience for constants and tests) */
extern CvxValidator *cvx_validator_compile_text(const char *json_text,
												CvxCompileError *error);

extern void cvx_validator_free(CvxValidator *validator);

/* Accessors */
extern CvxValidatorKind cvx_validator_kind(const CvxValidator *validator);
/* table name of an id validator, else NULL */
extern const char *cvx_validator_table(const CvxValidator *validator);
/* fields of an object validator (sorted by name), else NULL / 0 */
extern const CvxFieldValidator *cvx_validator_fields(const CvxValidator *validator,
													 size_t *count);
/* find one field of an object validator by name, else NULL */
extern const CvxFieldValidator *cvx_validator_field(const CvxValidator *validator,
													const char *name,
													size_t name_len);

/*
 * Check value against validator.  Returns true if it matches; otherwise
 * fills *error with the first failure, in Convex's order (object fields in
 * name order, a missing or mismatched field before any extra field).
 */
extern bool cvx_check(const CvxValidator *validator, const CvxValue *value,
					  const CvxCheckContext *context, CvxCheckError *error);

/*
 * Convex's display of a validator: v.string(), v.float64(), v.id("users"),
 * v.optional(...), v.object({a: v.string()}), v.union(...), ...
 * Returns a malloc'd NUL-terminated string.
 */
extern char *cvx_validator_display(const CvxValidator *validator);

/*
 * Convex's display of a value as it appears in error messages, cut at
 * max_length bytes with "..." when longer.  Returns a malloc'd string.
 */
extern char *cvx_value_display(const CvxValue *value, const CvxValueOps *ops,
							   size_t max_length);

/*
 * The whole message for a failed check, in Convex's words, without the
 * "ArgumentValidationError: " prefix, e.g.
 *
 *	  Value does not match validator.
 *	  Path: .roomId
 *	  Value: 123
 *	  Validator: v.string()
 *
 * Returns a malloc'd string.
 */
extern char *cvx_check_error_message(const CvxCheckError *error,
									 const CvxCheckContext *context);

/* json-c adapter: view a json_object as a CvxValue (NULL pointer = JSON null) */
extern const CvxValueOps cvx_json_c_ops;
extern void cvx_json_c_value(struct json_object *json, CvxValue *out);

/*
 * Additions by the core (not in the original contract).
 *
 * Convex's limits on values (crates/value: size.rs, array.rs, object.rs,
 * sync_types identifier.rs).
 */
#define CVX_MAX_NESTING 64
#define CVX_MAX_DOCUMENT_NESTING 16
#define CVX_MAX_ARRAY_LENGTH 8192
#define CVX_MAX_OBJECT_FIELDS 1024
#define CVX_MAX_FIELD_NAME_LENGTH 1024

/* cvx_value_display's max_length that means "no limit" */
#define CVX_DISPLAY_UNLIMITED 0

/* How many bytes of a value cvx_check_error_message shows */
#define CVX_ERROR_VALUE_MAX_LENGTH 4096

/*
 * Is value a well-formed Convex value, as Convex's JSON decoding requires
 * before any validator runs?  Checks nesting (<= 64), array length, field
 * count, field names (no leading '$', printable ASCII, <= 1024 bytes),
 * UTF-8 strings and the $integer / $float / $bytes encodings.  On failure
 * writes Convex's reason into message (if not NULL).  cvx_check does not
 * do this (v.any() accepts anything), so callers run this first.
 * Allocates nothing; recursion is bounded by the nesting limit.
 */
extern bool cvx_value_validate(const CvxValue *value, const CvxValueOps *ops,
							   char *message, size_t message_size);

/* How a value fails Convex's value rules */
typedef enum CvxValueFault
{
	CVX_VALUE_OK,
	CVX_VALUE_MALFORMED,		/* '$' or invalid field names, bad $integer/$float/$bytes, UTF-8 */
	CVX_VALUE_TOO_LARGE			/* nesting, array length, field count, field name length */
} CvxValueFault;

/*
 * cvx_value_validate / cvx_document_validate telling the two kinds of
 * failure apart (callers report them with different SQLSTATEs).
 */
extern CvxValueFault cvx_value_fault(const CvxValue *value, const CvxValueOps *ops,
									 bool document, char *message, size_t message_size);

/*
 * cvx_value_validate with the stricter nesting limit of stored documents:
 * 16 levels, the document object itself being level 1 ("Document is too
 * nested (...)").
 */
extern bool cvx_document_validate(const CvxValue *value, const CvxValueOps *ops,
								  char *message, size_t message_size);

/*
 * The float64 a value stands for: a JSON number, or Convex's
 * {"$float": base64} form of NaN, +-Infinity and -0.  False for anything
 * else.  (A value that passed v.float64() always converts.)
 */
extern bool cvx_value_float64(const CvxValue *value, const CvxValueOps *ops,
							  double *out);

/* The int64 of Convex's {"$integer": base64} form; false for anything else */
extern bool cvx_value_int64(const CvxValue *value, const CvxValueOps *ops,
							int64_t *out);

/*
 * The bytes of Convex's {"$bytes": base64} form: *base64 and *base64_len
 * point at the base64 text inside the value; false for anything else.
 */
extern bool cvx_value_bytes(const CvxValue *value, const CvxValueOps *ops,
							const char **base64, size_t *base64_len);

/*
 * Decode standard padded base64 into out (out_size bytes; NULL only to
 * validate).  False on malformed input or a too small buffer.
 */
extern bool cvx_base64_decode(const char *s, size_t len, uint8_t *out,
							  size_t out_size, size_t *out_len);

/* Convex's identifier rule (table and field names), with its reason */
extern bool cvx_identifier_check(const char *s, size_t len, char *why,
								 size_t why_size);

#endif							/* CVX_VALIDATOR_H */
