// The typed-array arguments of the native parts' calls, read and checked the same way in each.
#ifndef SSE_CHAT_TYPED_ARRAY_H
#define SSE_CHAT_TYPED_ARRAY_H
#include <stdbool.h>
#include <stddef.h>
#include <node_api.h>

// `value` as a typed array of `type`: its length (in elements) and its data. False when it is no
// typed array, or one of another type; nothing is thrown then, the caller says what it wanted.
static inline bool typed_array_arg(napi_env env, napi_value value, napi_typedarray_type type, size_t *length, void **data) {
  napi_typedarray_type actual;
  return napi_get_typedarray_info(env, value, &actual, length, data, NULL, NULL) == napi_ok && actual == type;
}

#endif
