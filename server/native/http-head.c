// The scan of an HTTP/1.x request head, for the heads a node reads on every post: where the head
// ends, where the request line's parts are, and each header line's name and value, as offsets into
// the bytes. request-head.ts makes the strings and the Map from them, and keeps its own parser for
// every head this scan does not take plainly (its end not in the first 4,096 bytes, a request line
// or header line it does not take, more header lines than the offsets hold): that parser gives the
// answer for those, incomplete or other, so both give the same result for every input (the unit
// tests compare them). Why in C: the same work in JavaScript, two regular expressions and nine
// indexOf calls a post, was about 4,500 of the 9,100 instructions a post's head cost (callgrind).
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <node_api.h>
#include "typed-array.h"
#include "http-token.h"

// As request-head.ts: the head's end is looked for in the first bytes only.
#define SCAN_BYTES 4096
// out[0..4): the index of the CRLF CRLF that ends the head, the method's end (the space after
// it), the target's end (the space before `HTTP/1.x`), the minor version (0 or 1).
#define HEAD_FIELDS 4
// Then five a header line: name start, name end (the colon), value start and end (without the
// spaces and tabs around it), and 1 when there is a tab anywhere after the colon.
#define FIELDS_PER_HEADER 5
// ` HTTP/1.x`
#define VERSION_LENGTH 9

// What Node's parser takes in a header value: tab, and every byte but the other control characters.
static bool is_value_byte(uint8_t c) {
  return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static bool is_ows(uint8_t c) {
  return c == ' ' || c == '\t';
}

// The index of the first CRLF CRLF wholly within data[0..length), or -1.
static int64_t head_end(const uint8_t *data, size_t length) {
  for (size_t at = 0; at + 4 <= length; at++) {
    if (data[at] == '\r' && data[at + 1] == '\n' && data[at + 2] == '\r' && data[at + 3] == '\n') return (int64_t)at;
  }
  return -1;
}

// `METHOD /target HTTP/1.x` in data[0..line_end): upper-case letters, a space, a `/` and visible
// ASCII, ` HTTP/1.0` or ` HTTP/1.1`. Fills out[1..4).
static bool request_line(const uint8_t *data, size_t line_end, int32_t *out) {
  size_t method_end = 0;
  while (method_end < line_end && data[method_end] >= 'A' && data[method_end] <= 'Z') method_end++;
  if (method_end == 0 || method_end >= line_end || data[method_end] != ' ') return false;
  if (line_end < method_end + 2 + VERSION_LENGTH) return false;
  size_t target_end = line_end - VERSION_LENGTH;
  if (data[method_end + 1] != '/') return false;
  for (size_t at = method_end + 2; at < target_end; at++) {
    if (data[at] < 0x21 || data[at] > 0x7e) return false;
  }
  static const char version[] = " HTTP/1.";
  for (size_t at = 0; at < VERSION_LENGTH - 1; at++) {
    if (data[target_end + at] != (uint8_t)version[at]) return false;
  }
  uint8_t minor = data[line_end - 1];
  if (minor != '0' && minor != '1') return false;
  out[1] = (int32_t)method_end;
  out[2] = (int32_t)target_end;
  out[3] = minor - '0';
  return true;
}

// The header lines in data[start..end), each `token: value` ending in CRLF (`end` is just past the
// last CRLF), into out from HEAD_FIELDS on: how many, or -1 when one is not such a line or there
// are more than `capacity`.
static int32_t header_lines(const uint8_t *data, size_t start, size_t end, int32_t *out, size_t capacity) {
  int32_t count = 0;
  while (start < end) {
    if ((size_t)count == capacity) return -1;
    size_t colon = start;
    while (colon < end && is_token(data[colon])) colon++;
    if (colon == start || colon >= end || data[colon] != ':') return -1;
    size_t line_end = colon + 1;
    bool tab = false;
    while (line_end < end && is_value_byte(data[line_end])) {
      if (data[line_end] == '\t') tab = true;
      line_end++;
    }
    if (line_end + 2 > end || data[line_end] != '\r' || data[line_end + 1] != '\n') return -1;
    size_t value_start = colon + 1;
    size_t value_end = line_end;
    while (value_start < value_end && is_ows(data[value_start])) value_start++;
    while (value_end > value_start && is_ows(data[value_end - 1])) value_end--;
    int32_t *fields = out + HEAD_FIELDS + (size_t)count * FIELDS_PER_HEADER;
    fields[0] = (int32_t)start;
    fields[1] = (int32_t)colon;
    fields[2] = (int32_t)value_start;
    fields[3] = (int32_t)value_end;
    fields[4] = tab ? 1 : 0;
    count++;
    start = line_end + 2;
  }
  return count;
}

// scanHead(bytes, out, maxHeadBytes): the number of header lines, with the offsets in out (above),
// or -1 when request-head.ts parses the head itself.
static napi_value scan_head(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  size_t length, out_length;
  void *bytes, *out_data;
  double max_head_bytes = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3 ||
      !typed_array_arg(env, argv[0], napi_uint8_array, &length, &bytes) || !typed_array_arg(env, argv[1], napi_int32_array, &out_length, &out_data) ||
      out_length < HEAD_FIELDS || napi_get_value_double(env, argv[2], &max_head_bytes) != napi_ok) {
    napi_throw_type_error(env, NULL, "scanHead: a Uint8Array, an Int32Array of at least 4 and the longest head are required");
    return NULL;
  }
  const uint8_t *data = bytes;
  int32_t *out = out_data;
  int32_t count = -1;
  // Offsets are int32: anything longer is not scanned (SCAN_BYTES keeps them small anyway).
  int64_t end = head_end(data, length < SCAN_BYTES ? length : SCAN_BYTES);
  // A bound that is no plain length (negative, NaN, past int32; the server never passes one) is
  // left to JavaScript too, which compares it as it is.
  bool plain_bound = max_head_bytes >= 0 && max_head_bytes <= INT32_MAX;
  if (plain_bound && end >= 0 && (double)end <= max_head_bytes) {
    size_t line_end = 0;
    // The first CRLF; at `end` itself when there is no header line.
    while (!(data[line_end] == '\r' && data[line_end + 1] == '\n')) line_end++;
    out[0] = (int32_t)end;
    if (request_line(data, line_end, out)) {
      count = header_lines(data, line_end + 2, (size_t)end + 2, out, (out_length - HEAD_FIELDS) / FIELDS_PER_HEADER);
    }
  }
  napi_value result;
  return napi_create_int32(env, count, &result) == napi_ok ? result : NULL;
}

NAPI_MODULE_INIT() {
  napi_value scan_fn;
  if (napi_create_function(env, "scanHead", NAPI_AUTO_LENGTH, scan_head, NULL, &scan_fn) != napi_ok ||
      napi_set_named_property(env, exports, "scanHead", scan_fn) != napi_ok) {
    return NULL;
  }
  return exports;
}
