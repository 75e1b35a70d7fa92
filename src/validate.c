/*-------------------------------------------------------------------------
 *
 * validate.c
 *	  The core's validator engine over jsonb, in place.
 *
 * Arguments arrive as jsonb, already parsed by PostgreSQL.  The adapter
 * below lets the engine walk a jsonb container directly (strings point
 * into the datum, object lookups are jsonb's binary search), so validating
 * arguments neither re-parses JSON text nor copies the value.
 *
 *-------------------------------------------------------------------------
 */
#include "convexlite.h"

#include "utils/builtins.h"
#include "utils/numeric.h"

/* View a scalar or binary JsonbValue as a CvxValue */
void
cvx_jsonb_scalar_value(const JsonbValue *jbv, CvxValue *out)
{
	memset(out, 0, sizeof(CvxValue));
	switch (jbv->type)
	{
		case jbvNull:
			out->type = CVX_T_NULL;
			break;
		case jbvBool:
			out->type = CVX_T_BOOLEAN;
			out->boolean = jbv->val.boolean;
			break;
		case jbvNumeric:
			out->type = CVX_T_NUMBER;
			out->handle = jbv->val.numeric;
			break;
		case jbvString:
			out->type = CVX_T_STRING;
			out->str = jbv->val.string.val;
			out->len = (size_t) jbv->val.string.len;
			break;
		case jbvBinary:
			out->type = JsonContainerIsObject(jbv->val.binary.data) ?
				CVX_T_OBJECT : CVX_T_ARRAY;
			out->handle = jbv->val.binary.data;
			out->len = (size_t) jbv->val.binary.len;	/* for cvx_value_jsonb */
			break;
		default:
			elog(ERROR, "convexlite: unexpected jsonb value type %d", (int) jbv->type);
	}
}

/* View a whole jsonb datum as a CvxValue */
void
cvx_jsonb_value(Jsonb *jsonb, CvxValue *out)
{
	if (JB_ROOT_IS_SCALAR(jsonb))
	{
		JsonbValue	scalar;

		if (!JsonbExtractScalar(&jsonb->root, &scalar))
			elog(ERROR, "convexlite: could not read a jsonb scalar");
		cvx_jsonb_scalar_value(&scalar, out);
		return;
	}
	memset(out, 0, sizeof(CvxValue));
	out->type = JB_ROOT_IS_OBJECT(jsonb) ? CVX_T_OBJECT : CVX_T_ARRAY;
	out->handle = &jsonb->root;
	out->len = VARSIZE(jsonb) - VARHDRSZ;
}

/* float64 value of a jsonb number; out-of-range magnitudes become +-Infinity */
static double
jsonb_number(const CvxValue *value)
{
	Numeric		numeric = (Numeric) value->handle;

	return DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow,
											  NumericGetDatum(numeric)));
}

/* Number of elements or fields of a container */
static size_t
jsonb_size(const CvxValue *container)
{
	return JsonContainerSize((JsonbContainer *) container->handle);
}

/* Object field lookup by binary search in the container */
static bool
jsonb_object_get(const CvxValue *object, const char *key, size_t key_len,
				 CvxValue *out)
{
	JsonbValue	result;

	if (getKeyJsonValueFromContainer((JsonbContainer *) object->handle,
									 key, (uint32) key_len, &result) == NULL)
		return false;
	cvx_jsonb_scalar_value(&result, out);
	return true;
}

/*
 * The JsonbValue of child index of a container whose data starts at base,
 * at offset (what jsonb_util.c's iterator does, without an iterator: no
 * allocation per container visited).
 */
static void
container_child(JsonbContainer *container, int index, char *base, uint32 offset,
				JsonbValue *out)
{
	JEntry		entry = container->children[index];

	if (JBE_ISNULL(entry))
		out->type = jbvNull;
	else if (JBE_ISSTRING(entry))
	{
		out->type = jbvString;
		out->val.string.val = base + offset;
		out->val.string.len = (int) getJsonbLength(container, index);
	}
	else if (JBE_ISNUMERIC(entry))
	{
		out->type = jbvNumeric;
		out->val.numeric = (Numeric) (base + INTALIGN(offset));
	}
	else if (JBE_ISBOOL_TRUE(entry) || JBE_ISBOOL_FALSE(entry))
	{
		out->type = jbvBool;
		out->val.boolean = JBE_ISBOOL_TRUE(entry);
	}
	else
	{
		Assert(JBE_ISCONTAINER(entry));
		out->type = jbvBinary;
		out->val.binary.data = (JsonbContainer *) (base + INTALIGN(offset));
		out->val.binary.len = (int) (getJsonbLength(container, index) -
									 (INTALIGN(offset) - offset));
	}
}

/* Visit an object's fields in jsonb's key order */
static bool
jsonb_object_foreach(const CvxValue *object, CvxFieldVisitor visit, void *arg)
{
	JsonbContainer *container = (JsonbContainer *) object->handle;
	int			n = (int) JsonContainerSize(container);
	char	   *base = (char *) &container->children[n * 2];
	uint32		key_offset = 0;
	uint32		value_offset = n > 0 ? getJsonbOffset(container, n) : 0;

	for (int i = 0; i < n; i++)
	{
		JsonbValue	key;
		JsonbValue	value;
		CvxValue	field;

		container_child(container, i, base, key_offset, &key);
		container_child(container, i + n, base, value_offset, &value);
		JBE_ADVANCE_OFFSET(key_offset, container->children[i]);
		JBE_ADVANCE_OFFSET(value_offset, container->children[i + n]);
		Assert(key.type == jbvString);
		cvx_jsonb_scalar_value(&value, &field);
		if (!visit(arg, key.val.string.val, (size_t) key.val.string.len, &field))
			return false;
	}
	return true;
}

/* Visit an array's elements in order */
static bool
jsonb_array_foreach(const CvxValue *array, CvxElementVisitor visit, void *arg)
{
	JsonbContainer *container = (JsonbContainer *) array->handle;
	int			n = (int) JsonContainerSize(container);
	char	   *base = (char *) &container->children[n];
	uint32		offset = 0;

	for (int i = 0; i < n; i++)
	{
		JsonbValue	element;
		CvxValue	value;

		container_child(container, i, base, offset, &element);
		JBE_ADVANCE_OFFSET(offset, container->children[i]);
		cvx_jsonb_scalar_value(&element, &value);
		if (!visit(arg, (size_t) i, &value))
			return false;
	}
	return true;
}

const CvxValueOps cvx_jsonb_ops = {
	.number = jsonb_number,
	.size = jsonb_size,
	.object_get = jsonb_object_get,
	.object_foreach = jsonb_object_foreach,
	.array_foreach = jsonb_array_foreach,
};

/*
 * Compile a validator written into the extension's source (a mutation's
 * args).  The result lives for the life of the backend.
 */
CvxValidator *
cvx_compile_constant(const char *validator_json)
{
	CvxCompileError error;
	CvxValidator *validator = cvx_validator_compile_text(validator_json, &error);

	if (validator == NULL)
		elog(ERROR, "convexlite: built-in validator does not compile: %s",
			 error.message);
	return validator;
}

/* Check a mutation's arguments; ArgumentValidationError (22023) if they fail */
void
cvx_check_args(const CvxValidator *validator, const CvxValue *args)
{
	CvxCheckContext context = {&cvx_jsonb_ops, cvx_table_name_lookup, NULL};
	CvxCheckError error;

	if (!cvx_check(validator, args, &context, &error))
		cvx_raise_validation_error("ArgumentValidationError: ", &error, &context,
								   ERRCODE_INVALID_PARAMETER_VALUE);
}

/* Fetch one field of already-validated arguments */
bool
cvx_args_field(const CvxValue *args, const char *name, CvxValue *out)
{
	return jsonb_object_get(args, name, strlen(name), out);
}

/* A string value as text */
text *
cvx_value_text(const CvxValue *value)
{
	Assert(value->type == CVX_T_STRING);
	return cstring_to_text_with_len(value->str, (int) value->len);
}

/*
 * A value that passed v.float64() as a float8: a JSON number, or Convex's
 * {"$float": …} form of NaN, +-Infinity and -0.
 */
double
cvx_value_number(const CvxValue *value)
{
	double		result;

	if (!cvx_value_float64(value, &cvx_jsonb_ops, &result))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a float64 value must be a JSON number or {\"$float\": base64}")));
	return result;
}

/* A value as a jsonb datum of its own */
Jsonb *
cvx_value_jsonb(const CvxValue *value)
{
	JsonbValue	jbv;

	switch (value->type)
	{
		case CVX_T_OBJECT:
		case CVX_T_ARRAY:
			jbv.type = jbvBinary;
			jbv.val.binary.data = (JsonbContainer *) value->handle;
			jbv.val.binary.len = (int) value->len;
			break;
		case CVX_T_NULL:
			jbv.type = jbvNull;
			break;
		case CVX_T_BOOLEAN:
			jbv.type = jbvBool;
			jbv.val.boolean = value->boolean;
			break;
		case CVX_T_NUMBER:
			jbv.type = jbvNumeric;
			jbv.val.numeric = (Numeric) value->handle;
			break;
		case CVX_T_STRING:
			jbv.type = jbvString;
			jbv.val.string.val = (char *) value->str;
			jbv.val.string.len = (int) value->len;
			break;
	}
	return JsonbValueToJsonb(&jbv);
}

/*
 * Take a mutation's args argument: SQL NULL is refused (22004), anything
 * else is viewed in place.
 */
Jsonb *
cvx_args_jsonb(Datum args, bool isnull, CvxValue *value)
{
	Jsonb	   *jsonb;

	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("args must be a JSON object, not NULL"),
				 errhint("Pass '{}' for a mutation without arguments.")));
	jsonb = DatumGetJsonbP(args);
	cvx_jsonb_value(jsonb, value);
	return jsonb;
}

/*
 * A seed mutation's args: the jsonb argument (a JSON object, not NULL),
 * checked against its validator, compiled from validator_json on first use
 * and kept in *validator.
 */
void
cvx_read_args(FunctionCallInfo fcinfo, CvxValidator **validator,
			  const char *validator_json, CvxValue *args)
{
	cvx_args_jsonb(PG_GETARG_DATUM(0), PG_ARGISNULL(0), args);
	if (*validator == NULL)
		*validator = cvx_compile_constant(validator_json);
	cvx_check_args(*validator, args);
}
