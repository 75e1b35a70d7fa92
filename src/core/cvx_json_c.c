/*-------------------------------------------------------------------------
 *
 * cvx_json_c.c
 *	  CvxValueOps over json-c trees, for unit tests, fuzzing and compiling
 *	  validators.  A NULL json_object pointer is JSON null.
 *
 * Part of the convexlite core: plain C11 and json-c, no PostgreSQL.
 *
 *-------------------------------------------------------------------------
 */
#include "cvx_validator.h"

#include <string.h>

#include <json.h>

/* Keys shorter than this are looked up through json-c's hash table */
#define CVX_JSON_C_KEY_BUFFER 256

/* View a json_object as a CvxValue */
void
cvx_json_c_value(struct json_object *json, CvxValue *out)
{
	memset(out, 0, sizeof(*out));
	out->handle = json;
	switch (json_object_get_type(json))
	{
		case json_type_null:
			out->type = CVX_T_NULL;
			break;
		case json_type_boolean:
			out->type = CVX_T_BOOLEAN;
			out->boolean = json_object_get_boolean(json) != 0;
			break;
		case json_type_double:
		case json_type_int:
			out->type = CVX_T_NUMBER;
			break;
		case json_type_string:
			out->type = CVX_T_STRING;
			out->str = json_object_get_string(json);
			out->len = (size_t) json_object_get_string_len(json);
			break;
		case json_type_array:
			out->type = CVX_T_ARRAY;
			break;
		case json_type_object:
			out->type = CVX_T_OBJECT;
			break;
	}
}

/* The float64 value of a number */
static double
cvx_json_c_number(const CvxValue *value)
{
	return json_object_get_double((struct json_object *) value->handle);
}

/* Element or field count */
static size_t
cvx_json_c_size(const CvxValue *container)
{
	struct json_object *json = (struct json_object *) container->handle;

	if (container->type == CVX_T_ARRAY)
		return json_object_array_length(json);
	if (container->type == CVX_T_OBJECT)
		return (size_t) json_object_object_length(json);
	return 0;
}

/* Look up a field; keys need not be NUL-terminated */
static bool
cvx_json_c_object_get(const CvxValue *object, const char *key, size_t key_len,
					  CvxValue *out)
{
	struct json_object *json = (struct json_object *) object->handle;
	struct json_object *child = NULL;
	struct json_object_iterator it;
	struct json_object_iterator end;

	if (object->type != CVX_T_OBJECT)
		return false;
	if (key_len < CVX_JSON_C_KEY_BUFFER && memchr(key, '\0', key_len) == NULL)
	{
		char		buf[CVX_JSON_C_KEY_BUFFER];

		memcpy(buf, key, key_len);
		buf[key_len] = '\0';
		if (!json_object_object_get_ex(json, buf, &child))
			return false;
		cvx_json_c_value(child, out);
		return true;
	}
	it = json_object_iter_begin(json);
	end = json_object_iter_end(json);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it))
	{
		const char *name = json_object_iter_peek_name(&it);

		if (strlen(name) == key_len && memcmp(name, key, key_len) == 0)
		{
			cvx_json_c_value(json_object_iter_peek_value(&it), out);
			return true;
		}
	}
	return false;
}

/* Visit an object's fields in json-c's (insertion) order */
static bool
cvx_json_c_object_foreach(const CvxValue *object, CvxFieldVisitor visit, void *arg)
{
	struct json_object *json = (struct json_object *) object->handle;
	struct json_object_iterator it;
	struct json_object_iterator end;

	if (object->type != CVX_T_OBJECT)
		return true;
	it = json_object_iter_begin(json);
	end = json_object_iter_end(json);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it))
	{
		const char *name = json_object_iter_peek_name(&it);
		CvxValue	child;

		cvx_json_c_value(json_object_iter_peek_value(&it), &child);
		if (!visit(arg, name, strlen(name), &child))
			return false;
	}
	return true;
}

/* Visit an array's elements in order */
static bool
cvx_json_c_array_foreach(const CvxValue *array, CvxElementVisitor visit, void *arg)
{
	struct json_object *json = (struct json_object *) array->handle;
	size_t		n;
	size_t		i;

	if (array->type != CVX_T_ARRAY)
		return true;
	n = json_object_array_length(json);
	for (i = 0; i < n; i++)
	{
		CvxValue	child;

		cvx_json_c_value(json_object_array_get_idx(json, i), &child);
		if (!visit(arg, i, &child))
			return false;
	}
	return true;
}

const CvxValueOps cvx_json_c_ops = {
	cvx_json_c_number,
	cvx_json_c_size,
	cvx_json_c_object_get,
	cvx_json_c_object_foreach,
	cvx_json_c_array_foreach
};
