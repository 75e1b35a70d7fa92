/*-------------------------------------------------------------------------
 *
 * cvx_validator_int.h
 *	  Private parts of the validator engine, shared by cvx_validator.c
 *	  (compile, check) and cvx_format.c (display, messages).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CVX_VALIDATOR_INT_H
#define CVX_VALIDATOR_INT_H

#include "cvx_validator.h"

/* Deepest validator cvx_validator_compile accepts */
#define CVX_VALIDATOR_MAX_DEPTH 64

/* Convex's identifier rule (table names, object validator fields) */
#define CVX_IDENTIFIER_MAX_LENGTH 64

/* The kinds of literal a v.literal() holds */
typedef enum CvxLiteralKind
{
	CVX_LIT_STRING,
	CVX_LIT_FLOAT64,
	CVX_LIT_INT64,
	CVX_LIT_BOOLEAN
} CvxLiteralKind;

struct CvxValidator
{
	CvxValidatorKind kind;
	char	   *table;			/* ID: table name */
	CvxLiteralKind literal_kind;	/* LITERAL */
	char	   *literal_str;	/* LITERAL string, NUL-terminated */
	size_t		literal_len;
	double		literal_float;
	int64_t		literal_int;
	bool		literal_bool;
	CvxValidator *element;		/* ARRAY elements, RECORD values */
	CvxValidator *keys;			/* RECORD keys */
	CvxFieldValidator *fields;	/* OBJECT, sorted by name */
	size_t		nfields;
	CvxValidator **members;		/* UNION */
	size_t		nmembers;
};

/* What a value is in Convex's terms, after decoding $integer etc. */
typedef enum CvxValueClass
{
	CVX_C_NULL,
	CVX_C_BOOLEAN,
	CVX_C_FLOAT64,				/* JSON number or {"$float": …} */
	CVX_C_INT64,				/* {"$integer": …} */
	CVX_C_STRING,
	CVX_C_BYTES,				/* {"$bytes": …} */
	CVX_C_ARRAY,
	CVX_C_OBJECT,				/* an object without "$" keys */
	CVX_C_INVALID				/* "$" keys that are no valid encoding */
} CvxValueClass;

/* A classified value; payload is the base64 string of $-encodings */
typedef struct CvxClassified
{
	CvxValueClass cls;
	double		f;
	int64_t		i;
	const char *payload;
	size_t		payload_len;
} CvxClassified;

extern void cvx_classify(const CvxValue *value, const CvxValueOps *ops,
						 CvxClassified *out);
extern int	cvx_key_compare(const char *a, size_t alen, const char *b, size_t blen);

#endif							/* CVX_VALIDATOR_INT_H */
