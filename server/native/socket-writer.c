// send(2) on a socket's descriptor, for the writes a node makes most: one frame to each viewer
// (one call for all the viewers of a frame: sendMany), and the answer to each post. Node's
// socket.write takes about 1 us of JavaScript and C++ per call around the system call (its stream
// state, a write request object, an after-write tick); this takes about 0.2. The caller decides
// when it may be used (socket-writer.ts): only with nothing queued in Node.
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <node_api.h>
#include "send-now.h"
#include "typed-array.h"

// Both calls take (fd, what): the two arguments, with the descriptor an integer from 0 that fits
// in an int. False when they are not there or the descriptor is not one.
static bool fd_and_value(napi_env env, napi_callback_info info, int32_t *fd, napi_value *value) {
  size_t argc = 2;
  napi_value argv[2];
  napi_valuetype type;
  double number = -1;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 || napi_typeof(env, argv[0], &type) != napi_ok ||
      type != napi_number || napi_get_value_double(env, argv[0], &number) != napi_ok || !(number >= 0 && number <= INT32_MAX) ||
      number != (double)(int32_t)number) {
    return false;
  }
  *fd = (int32_t)number;
  *value = argv[1];
  return true;
}

static napi_value int64_value(napi_env env, int64_t result) {
  napi_value out;
  return napi_create_int64(env, result, &out) == napi_ok ? out : NULL;
}

// send(fd, bytes): how many of the bytes the kernel took, or -errno (send_now).
static napi_value send_bytes(napi_env env, napi_callback_info info) {
  int32_t fd;
  napi_value bytes;
  bool is_typed_array = false;
  if (!fd_and_value(env, info, &fd, &bytes) || napi_is_typedarray(env, bytes, &is_typed_array) != napi_ok || !is_typed_array) {
    napi_throw_type_error(env, NULL, "send: a descriptor (an integer from 0) and a Uint8Array are required");
    return NULL;
  }
  size_t length;
  void *data;
  if (!typed_array_arg(env, bytes, napi_uint8_array, &length, &data)) {
    napi_throw_type_error(env, NULL, "send: the bytes must be a Uint8Array");
    return NULL;
  }
  return int64_value(env, send_now(fd, data, length));
}

// The longest text sendText takes, in UTF-16 code units: its UTF-8 (at most 3 bytes per unit)
// then fits the stack buffer below. Exported as textMaxUnits; the caller writes longer texts
// through Node.
#define TEXT_MAX_UNITS 4096

// sendText(fd, text): the text's UTF-8 bytes the kernel did not take (0: all of them), or -errno.
// A post's answer is a string; making it a Buffer first to use send() cost more than it saved.
static napi_value send_text(napi_env env, napi_callback_info info) {
  int32_t fd;
  napi_value text;
  napi_valuetype type;
  if (!fd_and_value(env, info, &fd, &text) || napi_typeof(env, text, &type) != napi_ok || type != napi_string) {
    napi_throw_type_error(env, NULL, "sendText: a descriptor (an integer from 0) and a string are required");
    return NULL;
  }
  char bytes[3 * TEXT_MAX_UNITS + 1];
  size_t units, length;
  if (napi_get_value_string_utf16(env, text, NULL, 0, &units) != napi_ok) return NULL;
  if (units > TEXT_MAX_UNITS) {
    napi_throw_range_error(env, NULL, "sendText: the text is longer than textMaxUnits");
    return NULL;
  }
  if (napi_get_value_string_utf8(env, text, bytes, sizeof bytes, &length) != napi_ok) return NULL;
  int64_t sent = send_now(fd, bytes, length);
  return int64_value(env, sent < 0 ? sent : (int64_t)length - sent);
}

// sendMany(fds, count, bytes, results): the same bytes to each of the first `count` descriptors,
// each one's outcome in results[i] as send() gives it (bytes taken, or -errno). One call into C
// for a frame's viewers, where send() per viewer made one each.
static napi_value send_many(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  uint32_t count = 0;
  size_t fd_count, length, result_count;
  void *fd_data, *data, *result_data;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 4 || napi_get_value_uint32(env, argv[1], &count) != napi_ok ||
      !typed_array_arg(env, argv[0], napi_int32_array, &fd_count, &fd_data) || !typed_array_arg(env, argv[2], napi_uint8_array, &length, &data) ||
      !typed_array_arg(env, argv[3], napi_int32_array, &result_count, &result_data) || count > fd_count || count > result_count) {
    napi_throw_type_error(env, NULL, "sendMany: an Int32Array of descriptors, a count, a Uint8Array and an Int32Array for the results are required");
    return NULL;
  }
  const int32_t *fds = fd_data;
  int32_t *results = result_data;
  for (uint32_t i = 0; i < count; i++) results[i] = fds[i] >= 0 ? (int32_t)send_now(fds[i], data, length) : -EBADF;
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_value send_fn, text_fn, text_max, many_fn;
  if (napi_create_function(env, "send", NAPI_AUTO_LENGTH, send_bytes, NULL, &send_fn) != napi_ok ||
      napi_set_named_property(env, exports, "send", send_fn) != napi_ok ||
      napi_create_function(env, "sendText", NAPI_AUTO_LENGTH, send_text, NULL, &text_fn) != napi_ok ||
      napi_set_named_property(env, exports, "sendText", text_fn) != napi_ok ||
      napi_create_uint32(env, TEXT_MAX_UNITS, &text_max) != napi_ok ||
      napi_set_named_property(env, exports, "textMaxUnits", text_max) != napi_ok ||
      napi_create_function(env, "sendMany", NAPI_AUTO_LENGTH, send_many, NULL, &many_fn) != napi_ok ||
      napi_set_named_property(env, exports, "sendMany", many_fn) != napi_ok) {
    return NULL;
  }
  return exports;
}
