// The post lane: reads kept-alive post connections in C, off Node's stream machinery. Once a
// connection has had a post answered on the raw fast path (http/connection-router.ts), Node stops
// reading it and the lane polls a duplicate of its descriptor. Each complete JSON post the lane
// reads plainly is handed to JavaScript as three strings (stream, author, text), already checked as
// the route checks them; JavaScript publishes it and answers. At the first bytes it does not take
// plainly (another request, a head or body split across reads, an escape in a JSON string, the end
// of the connection) it stops and hands those bytes back, and Node reads the connection again.
// Why: Node's read of a small post (a Buffer, the readable stream, the 'data' event, the head's
// Map, JSON.parse, the checks) was most of the 57,000 instructions a post cost in bench rooms.
//
// What it takes must be a subset of what the JavaScript path takes, giving the same strings: for
// those the result is the same, and anything else is the JavaScript path's to answer, including
// every error. The unit tests compare the two on many requests (parse() below is their hook).
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <node_api.h>
#include <uv.h>
#include "http-token.h"
#include "lane-rooms.h"
#include "send-now.h"

// A head longer than this is the JavaScript parser's (it has its own limit).
#define MAX_HEAD_BYTES 4096
// As request-head.ts scans them in C; a head with more is parsed in JavaScript.
#define MAX_HEADER_LINES 64
// One read's worth: a post's head and body are far smaller, and bytes of a request that does not
// fit are handed back whole.
#define READ_BYTES 65536

struct limits {
  uint32_t body_bytes;
  uint32_t author_units;
  uint32_t text_units;
};

struct lane;

// One adopted connection: a poll handle on its own duplicate of the socket's descriptor, so that
// libuv's watcher for Node's descriptor is never touched; both name the same socket.
struct conn {
  uv_poll_t poll;
  struct lane *lane;
  int fd;
  int32_t slot;
  bool released;
  // Its posts are being handed to JavaScript (on_readable): a hand-back asked for meanwhile (the
  // node begins to stop) waits until the post in hand is done, then takes the bytes after it.
  bool busy;
  bool hand_back_wanted;
  // A post of the read in hand is JavaScript's to answer (its answer is written after the read):
  // the lane answers none after it in this read, or its answer would go first.
  bool js_answers;
  // Node holds unsent bytes of an answer (setPosterBusy): the lane answers nothing till then.
  bool poster_busy;
};

struct lane {
  napi_env env;
  uv_loop_t *loop;
  napi_ref on_post;
  napi_ref on_hand_back;
  napi_async_context async;
  // The async resource of the callback scope each read runs JavaScript in.
  napi_ref resource;
  struct limits limits;
  struct conn **slots;
  int32_t slot_count;
  // Where the lane writes posts' frames itself (fanOut): null until JavaScript asks for it.
  struct fan_out *fan_out;
  uint8_t buffer[READ_BYTES];
};

// What fanOut() sets up: the rooms the Hub mirrors, JavaScript's clean flags and results array
// (held by reference, so that their memory stays put), and the frame's buffer.
struct fan_out {
  struct lane_rooms *rooms;
  napi_ref clean_ref;
  uint8_t *clean;
  size_t clean_length;
  napi_ref results_ref;
  int32_t *results;
  uint32_t max_viewers;
  // The HTTP server's keep-alive timeout in seconds, as its answers advertise it.
  uint32_t keep_alive_seconds;
  char *node_json;
  char *region_json;
  uint8_t *frame;
  size_t frame_capacity;
  // The 201s the lane answered during the read in hand, sent together (flush_answers): posts read
  // together (pipelined) are answered in one write, as on Node's path.
  uint8_t *answers;
  size_t answers_length;
  size_t answers_capacity;
  // Told the bytes of those answers the kernel did not take, for Node to write (weak: the caller
  // holds the function).
  napi_ref on_answer_rest;
};

// ---------- the request, as the JavaScript path would take it ----------

enum { NOT_OURS = 0, TAKEN = 1 };

struct range {
  size_t start;
  size_t length;
};

struct post {
  struct range stream;
  struct range author;
  struct range text;
  bool keep_alive;
  // Head and body: where the next request starts.
  size_t length;
};

static bool is_name_char(uint8_t c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == '.' || c == '-';
}

static uint8_t lower(uint8_t c) {
  return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

// `b[0..n)` is `word`, whatever the letters' case.
static bool equals_ci(const uint8_t *b, size_t n, const char *word) {
  size_t length = strlen(word);
  if (n != length) return false;
  for (size_t i = 0; i < n; i++) if (lower(b[i]) != (uint8_t)word[i]) return false;
  return true;
}

static bool starts_ci(const uint8_t *b, size_t n, size_t *at, const char *word) {
  size_t length = strlen(word);
  if (n - *at < length) return false;
  for (size_t i = 0; i < length; i++) if (lower(b[*at + i]) != (uint8_t)word[i]) return false;
  *at += length;
  return true;
}

static void skip_blanks(const uint8_t *b, size_t n, size_t *at) {
  while (*at < n && (b[*at] == ' ' || b[*at] == '\t')) (*at)++;
}

// messages-fast-path.ts's JSON_TYPE: application/json, and at most a UTF-8 charset.
static bool is_json_type(const uint8_t *b, size_t n) {
  size_t at = 0;
  if (!starts_ci(b, n, &at, "application/json")) return false;
  skip_blanks(b, n, &at);
  if (at == n) return true;
  if (b[at++] != ';') return false;
  skip_blanks(b, n, &at);
  if (!starts_ci(b, n, &at, "charset")) return false;
  skip_blanks(b, n, &at);
  if (at == n || b[at++] != '=') return false;
  skip_blanks(b, n, &at);
  if (at < n && b[at] == '"') at++;
  if (!starts_ci(b, n, &at, "utf-8")) return false;
  if (at < n && b[at] == '"') at++;
  skip_blanks(b, n, &at);
  return at == n;
}

// The head: `POST /streams/<name>/messages HTTP/1.1`, plain header lines (printable ASCII and
// spaces, each name once: request-head.ts leaves a repeated one to Node's parser), Host, one
// Content-Length and one JSON Content-Type, and Connection at most `close` or `keep-alive`;
// nothing that asks for more (a transfer or content encoding, Expect, Upgrade).
static bool parse_head(const uint8_t *b, size_t n, const struct limits *limits, struct post *post, size_t *body_start, size_t *body_length) {
  static const char prefix[] = "POST /streams/";
  static const char suffix[] = "/messages HTTP/1.1\r\n";
  size_t at = sizeof prefix - 1;
  if (n > MAX_HEAD_BYTES) n = MAX_HEAD_BYTES;
  if (n < at || memcmp(b, prefix, at) != 0) return false;
  // validation.ts's STREAM_NAME: a letter or digit, then up to 63 of those, `_`, `.` and `-`.
  size_t name = at;
  while (at < n && is_name_char(b[at])) at++;
  size_t name_length = at - name;
  if (name_length < 1 || name_length > 64 || !((b[name] >= '0' && b[name] <= '9') || (lower(b[name]) >= 'a' && lower(b[name]) <= 'z'))) return false;
  if (n - at < sizeof suffix - 1 || memcmp(b + at, suffix, sizeof suffix - 1) != 0) return false;
  at += sizeof suffix - 1;
  post->stream = (struct range){name, name_length};

  struct range names[MAX_HEADER_LINES];
  int hosts = 0, lengths = 0, types = 0, connections = 0, lines = 0;
  uint32_t content_length = 0;
  post->keep_alive = true;
  for (;;) {
    if (n - at < 2) return false;
    if (b[at] == '\r') {
      if (b[at + 1] != '\n') return false;
      at += 2;
      break;
    }
    if (lines == MAX_HEADER_LINES) return false;
    size_t name_start = at;
    while (at < n && is_token(b[at])) at++;
    size_t header_name_length = at - name_start;
    if (header_name_length == 0 || at == n || b[at] != ':') return false;
    for (int i = 0; i < lines; i++) {
      if (names[i].length != header_name_length) continue;
      size_t same = 0;
      while (same < header_name_length && lower(b[names[i].start + same]) == lower(b[name_start + same])) same++;
      if (same == header_name_length) return false;
    }
    names[lines++] = (struct range){name_start, header_name_length};
    at++;
    while (at < n && b[at] == ' ') at++;
    size_t value_start = at;
    while (at < n && b[at] >= 0x20 && b[at] <= 0x7e) at++;
    if (n - at < 2 || b[at] != '\r' || b[at + 1] != '\n') return false;
    size_t value_end = at;
    while (value_end > value_start && b[value_end - 1] == ' ') value_end--;
    at += 2;
    const uint8_t *header = b + name_start;
    const uint8_t *value = b + value_start;
    size_t value_length = value_end - value_start;
    if (equals_ci(header, header_name_length, "host")) {
      hosts++;
    } else if (equals_ci(header, header_name_length, "content-length")) {
      if (++lengths > 1 || value_length < 1 || value_length > 9) return false;
      content_length = 0;
      for (size_t i = 0; i < value_length; i++) {
        if (value[i] < '0' || value[i] > '9') return false;
        content_length = content_length * 10 + (value[i] - '0');
      }
    } else if (equals_ci(header, header_name_length, "content-type")) {
      if (++types > 1 || !is_json_type(value, value_length)) return false;
    } else if (equals_ci(header, header_name_length, "connection")) {
      if (++connections > 1) return false;
      if (equals_ci(value, value_length, "close")) post->keep_alive = false;
      else if (!equals_ci(value, value_length, "keep-alive")) return false;
    } else if (equals_ci(header, header_name_length, "transfer-encoding") || equals_ci(header, header_name_length, "content-encoding") ||
               equals_ci(header, header_name_length, "expect") || equals_ci(header, header_name_length, "upgrade")) {
      return false;
    }
  }
  if (hosts != 1 || lengths != 1 || types != 1 || content_length > limits->body_bytes) return false;
  *body_start = at;
  *body_length = content_length;
  return true;
}

static bool is_json_space(uint8_t c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// One UTF-8 character at b[*at] (strictly: no overlong forms, no surrogates, nothing past
// U+10FFFF), moved past; its code point, or -1 when the bytes are not one.
static int32_t next_code_point(const uint8_t *b, size_t n, size_t *at) {
  uint8_t c = b[*at];
  if (c < 0x80) {
    (*at)++;
    return c;
  }
  size_t extra;
  uint8_t low = 0x80, high = 0xbf;
  int32_t point;
  if (c >= 0xc2 && c <= 0xdf) {
    extra = 1;
    point = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    extra = 2;
    point = c & 0x0f;
    if (c == 0xe0) low = 0xa0;
    if (c == 0xed) high = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    extra = 3;
    point = c & 0x07;
    if (c == 0xf0) low = 0x90;
    if (c == 0xf4) high = 0x8f;
  } else {
    return -1;
  }
  if (n - *at <= extra) return -1;
  for (size_t i = 1; i <= extra; i++) {
    uint8_t next = b[*at + i];
    if (next < (i == 1 ? low : 0x80) || next > (i == 1 ? high : 0xbf)) return -1;
    point = (point << 6) | (next & 0x3f);
  }
  *at += extra + 1;
  return point;
}

// A JSON string with nothing escaped, from its opening quote; past its closing quote. Its
// characters in UTF-16 code units, as JavaScript counts a string's length. False for an escape
// (the JavaScript path decodes those), a control character (invalid JSON) or bytes that are not
// UTF-8 (which Node's decoding would replace).
static bool plain_string(const uint8_t *b, size_t n, size_t *at, struct range *range, size_t *units) {
  if (*at >= n || b[*at] != '"') return false;
  size_t start = ++(*at);
  *units = 0;
  while (*at < n) {
    uint8_t c = b[*at];
    if (c == '"') {
      *range = (struct range){start, *at - start};
      (*at)++;
      return true;
    }
    if (c == '\\' || c < 0x20) return false;
    int32_t point = next_code_point(b, n, at);
    if (point < 0) return false;
    *units += point > 0xffff ? 2 : 1;
  }
  return false;
}

// What String.prototype.trim removes besides ASCII white space (which a JSON string can only hold
// as the space: the others are control characters, escaped).
static bool is_wide_space(int32_t point) {
  return point == 0xa0 || point == 0x1680 || (point >= 0x2000 && point <= 0x200a) || point == 0x2028 || point == 0x2029 || point == 0x202f ||
         point == 0x205f || point == 0x3000 || point == 0xfeff;
}

// validation.ts's normaliseAuthor leaves these as they are: printable ASCII, single spaces
// between words, none at either end.
static bool plain_words(const uint8_t *b, struct range range) {
  uint8_t previous = ' ';
  for (size_t i = 0; i < range.length; i++) {
    uint8_t c = b[range.start + i];
    if (c < 0x20 || c > 0x7e || (c == ' ' && previous == ' ')) return false;
    previous = c;
  }
  return previous != ' ';
}

// normaliseText for a text with no CR or NUL (a JSON string holds them only escaped): trim(), of
// which the lane does the spaces; a text beginning or ending in other white space is not its own.
static bool trimmed_text(const uint8_t *b, struct range *range, size_t *units) {
  size_t start = range->start, end = range->start + range->length;
  while (start < end && b[start] == ' ') start++;
  while (end > start && b[end - 1] == ' ') end--;
  *units -= (range->length - (end - start));
  *range = (struct range){start, end - start};
  if (start == end) return true;
  size_t at = start;
  if (is_wide_space(next_code_point(b, end, &at))) return false;
  size_t last = end - 1;
  while (last > start && (b[last] & 0xc0) == 0x80) last--;
  return !is_wide_space(next_code_point(b, end, &last));
}

// The body: a JSON object whose author and text are strings the checks take, each once, and whose
// other members (ignored by the route) are plain strings too.
static bool parse_body(const uint8_t *b, size_t n, const struct limits *limits, struct post *post) {
  size_t at = 0, units = 0, author_units = 0, text_units = 0;
  bool author = false, text = false;
  while (at < n && is_json_space(b[at])) at++;
  if (at == n || b[at++] != '{') return false;
  while (at < n && is_json_space(b[at])) at++;
  for (;;) {
    struct range key, value;
    if (!plain_string(b, n, &at, &key, &units)) return false;
    while (at < n && is_json_space(b[at])) at++;
    if (at == n || b[at++] != ':') return false;
    while (at < n && is_json_space(b[at])) at++;
    if (!plain_string(b, n, &at, &value, &units)) return false;
    if (key.length == 6 && memcmp(b + key.start, "author", 6) == 0) {
      if (author) return false;
      author = true;
      post->author = value;
      author_units = units;
    } else if (key.length == 4 && memcmp(b + key.start, "text", 4) == 0) {
      if (text) return false;
      text = true;
      post->text = value;
      text_units = units;
    }
    while (at < n && is_json_space(b[at])) at++;
    if (at == n) return false;
    if (b[at] == '}') {
      at++;
      break;
    }
    if (b[at++] != ',') return false;
    while (at < n && is_json_space(b[at])) at++;
  }
  while (at < n && is_json_space(b[at])) at++;
  if (at != n || !author || !text) return false;
  if (!plain_words(b, post->author) || author_units < 1 || author_units > limits->author_units) return false;
  if (!trimmed_text(b, &post->text, &text_units) || text_units < 1 || text_units > limits->text_units) return false;
  return true;
}

// The post at the start of b[0..n), complete and taken plainly; or NOT_OURS (something else, or
// not all there yet). Ranges are offsets into b.
static int parse_post(const uint8_t *b, size_t n, const struct limits *limits, struct post *post) {
  size_t body_start, body_length;
  if (!parse_head(b, n, limits, post, &body_start, &body_length)) return NOT_OURS;
  if (n - body_start < body_length) return NOT_OURS;
  if (!parse_body(b + body_start, body_length, limits, post)) return NOT_OURS;
  post->author.start += body_start;
  post->text.start += body_start;
  post->length = body_start + body_length;
  return TAKEN;
}

// ---------- the connections ----------

static void free_conn(uv_handle_t *handle) {
  struct conn *conn = handle->data;
  close(conn->fd);
  free(conn);
}

// Stops polling and gives the slot back; the duplicate descriptor closes once libuv lets go of it.
static void release_conn(struct conn *conn) {
  if (conn->released) return;
  conn->released = true;
  conn->lane->slots[conn->slot] = NULL;
  uv_poll_stop(&conn->poll);
  uv_close((uv_handle_t *)&conn->poll, free_conn);
}

// Calls a listener; false when it returned false (a post it declines), true otherwise.
static bool call(struct lane *lane, napi_ref function_ref, size_t argc, napi_value *argv) {
  napi_env env = lane->env;
  napi_value function = NULL, global, result;
  napi_valuetype type;
  bool value = true;
  // The references are weak (the PostLane object holds the functions): NULL once it is gone.
  if (napi_get_reference_value(env, function_ref, &function) != napi_ok || function == NULL || napi_get_global(env, &global) != napi_ok) return true;
  // Within the read's callback scope (on_readable) or called from JavaScript: an exception thrown
  // reaches the process's uncaughtException as any other would.
  napi_status status = napi_call_function(env, global, function, argc, argv, &result);
  if (status == napi_pending_exception) {
    napi_value error;
    napi_get_and_clear_last_exception(env, &error);
    napi_fatal_exception(env, error);
    return true;
  }
  if (status == napi_ok && napi_typeof(env, result, &type) == napi_ok && type == napi_boolean) napi_get_value_bool(env, result, &value);
  return value;
}

static void flush_answers(struct conn *conn);

// Hands the connection back to Node, with the bytes read and not taken (none: the end of the
// connection, which Node's own read then finds, or an error, after which Node reads the end).
static void hand_back(struct conn *conn, const uint8_t *rest, size_t length) {
  struct lane *lane = conn->lane;
  // Node answers what comes next: the lane's answers before it go first.
  flush_answers(conn);
  napi_env env = lane->env;
  napi_value argv[2];
  int32_t slot = conn->slot;
  release_conn(conn);
  napi_create_int32(env, slot, &argv[0]);
  if (length > 0) {
    void *copy;
    if (napi_create_buffer_copy(env, length, rest, &copy, &argv[1]) != napi_ok) napi_get_undefined(env, &argv[1]);
  } else {
    napi_get_undefined(env, &argv[1]);
  }
  call(lane, lane->on_hand_back, 2, argv);
}

// The post's stream, author, text and keep-alive as JavaScript values, from the request they are in:
// what the lane hands to JavaScript, and what parse() gives the tests.
static void post_values(napi_env env, const uint8_t *request, const struct post *post, napi_value values[4]) {
  const char *b = (const char *)request;
  napi_create_string_latin1(env, b + post->stream.start, post->stream.length, &values[0]);
  napi_create_string_latin1(env, b + post->author.start, post->author.length, &values[1]);
  napi_create_string_utf8(env, b + post->text.start, post->text.length, &values[2]);
  napi_get_boolean(env, post->keep_alive, &values[3]);
}

// Sends the answers the lane holds for the connection: what the kernel does not take (all of it
// after an error, which Node's write then meets) goes to Node to write, and the lane answers
// nothing more until Node has written it.
static void flush_answers(struct conn *conn) {
  struct lane *lane = conn->lane;
  struct fan_out *fan_out = lane->fan_out;
  if (!fan_out || fan_out->answers_length == 0) return;
  size_t length = fan_out->answers_length;
  fan_out->answers_length = 0;
  int64_t taken = send_now(conn->fd, fan_out->answers, length);
  if (taken == (int64_t)length) return;
  size_t done = taken > 0 ? (size_t)taken : 0;
  conn->poster_busy = true;
  napi_env env = lane->env;
  napi_value argv[2];
  void *copy;
  napi_create_int32(env, conn->slot, &argv[0]);
  if (napi_create_buffer_copy(env, length - done, fan_out->answers + done, &copy, &argv[1]) != napi_ok) {
    // Answers that cannot be finished: the connection ends (Node reads its end) rather than carry
    // another answer after half of one.
    shutdown(conn->fd, SHUT_RDWR);
    return;
  }
  call(lane, fan_out->on_answer_rest, 2, argv);
}

static uint64_t now_ms(void) {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  return (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
}

// Where the post's stream is a room the lane writes to, with clean viewers: takes the stream's
// next id, writes the message's frame to them now, before JavaScript hears of the post, and, on a
// kept-alive connection whose answers are all written, the 201. Makes what JavaScript is told
// besides: the id's two parts, how many viewers were written to (their outcomes are in the results
// array), and for an answer the lane wrote, true, or the bytes of it the kernel did not take (for
// Node to write). Returns how many of those values it made: 3 or 4, or 0 where JavaScript does it all.
static size_t fan_out_post(struct lane *lane, struct conn *conn, const uint8_t *request, const struct post *post, napi_value values[4]) {
  struct fan_out *fan_out = lane->fan_out;
  if (!fan_out) return 0;
  const uint8_t *stream = request + post->stream.start;
  int32_t room = lane_rooms_find(fan_out->rooms, stream, post->stream.length);
  uint64_t ms, seq, now = now_ms();
  if (room < 0 || lane_rooms_clean_viewers(fan_out->rooms, room, fan_out->max_viewers, fan_out->clean, fan_out->clean_length) == 0 ||
      !lane_rooms_next_id(fan_out->rooms, room, now, fan_out->max_viewers, &ms, &seq)) {
    return 0;
  }
  struct lane_message message = {
      .ms = ms,
      .seq = seq,
      .stream = stream,
      .stream_length = post->stream.length,
      .author = request + post->author.start,
      .author_length = post->author.length,
      .text = request + post->text.start,
      .text_length = post->text.length,
  };
  size_t json_start = 0, json_length = 0;
  size_t length = lane_message_frame(fan_out->frame, fan_out->frame_capacity, &message, fan_out->node_json, fan_out->region_json, &json_start, &json_length);
  // The id is taken either way: a frame that did not fit (never, at the capacity fanOut sets) is
  // JavaScript's to write, with the id.
  uint32_t sent = length == 0 ? 0 : lane_rooms_send(fan_out->rooms, room, fan_out->clean, fan_out->clean_length, fan_out->frame, length, fan_out->results, fan_out->max_viewers);
  napi_env env = lane->env;
  napi_create_double(env, (double)ms, &values[0]);
  napi_create_double(env, (double)seq, &values[1]);
  napi_create_uint32(env, sent, &values[2]);
  if (length == 0 || !post->keep_alive || conn->js_answers || conn->poster_busy) return 3;
  // Dated now, as Node dates its answers (the id's time is later than now after the clock stepped
  // back). Held with the read's other answers; a full buffer is sent first.
  const uint8_t *json = fan_out->frame + json_start;
  size_t answer_length = lane_created_answer(fan_out->answers + fan_out->answers_length, fan_out->answers_capacity - fan_out->answers_length, &message,
                                             json, json_length, fan_out->keep_alive_seconds, now);
  if (answer_length == 0 && fan_out->answers_length > 0) {
    flush_answers(conn);
    if (conn->poster_busy) return 3;
    answer_length = lane_created_answer(fan_out->answers, fan_out->answers_capacity, &message, json, json_length, fan_out->keep_alive_seconds, now);
  }
  if (answer_length == 0) return 3;
  fan_out->answers_length += answer_length;
  napi_get_boolean(env, true, &values[3]);
  return 4;
}

// What one read hands to JavaScript runs in one callback scope, as Node runs a stream's 'data'
// listeners: ticks and microtasks run once, at its end. So the answers to posts read together
// (pipelined) leave in one write, and their frames in one write per viewer, as on Node's path;
// a scope per post made a write of each (bench publish: 0.85x nchan's posts per second).
static void on_readable(uv_poll_t *handle, int status, int events) {
  struct conn *conn = handle->data;
  struct lane *lane = conn->lane;
  napi_env env = lane->env;
  ssize_t got = 0;
  if (status >= 0 && (events & UV_READABLE)) {
    do {
      got = read(conn->fd, lane->buffer, sizeof lane->buffer);
    } while (got < 0 && errno == EINTR);
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
  }
  napi_handle_scope scope;
  napi_callback_scope callback_scope;
  napi_value resource;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  if (napi_get_reference_value(env, lane->resource, &resource) != napi_ok ||
      napi_open_callback_scope(env, resource, lane->async, &callback_scope) != napi_ok) {
    napi_close_handle_scope(env, scope);
    return;
  }
  if (got <= 0) {
    // The end of the connection, an error, or a poll that failed: Node's read finds out which.
    hand_back(conn, NULL, 0);
    napi_close_callback_scope(env, callback_scope);
    napi_close_handle_scope(env, scope);
    return;
  }
  const uint8_t *b = lane->buffer;
  size_t at = 0, n = (size_t)got;
  conn->busy = true;
  // The answers JavaScript owed were written when the last read's callback scope closed.
  conn->js_answers = false;
  while (at < n && !conn->released) {
    struct post post;
    if (parse_post(b + at, n - at, &lane->limits, &post) != TAKEN) {
      hand_back(conn, b + at, n - at);
      break;
    }
    const uint8_t *request = b + at;
    napi_value argv[9];
    napi_create_int32(env, conn->slot, &argv[0]);
    post_values(env, request, &post, argv + 1);
    size_t argc = 5 + fan_out_post(lane, conn, request, &post, argv + 5);
    if (argc < 9) {
      // JavaScript answers this one (it may write the answer before the call returns, as for a
      // post that closes the connection): the lane's answers before it go first.
      flush_answers(conn);
      conn->js_answers = true;
    }
    // JavaScript may decline the post (a client over its rate limit, whose 429 Node's path
    // renders): it goes back with what follows. Or it may release the connection meanwhile (a post
    // that closes it, say): what follows is then not read, as Node's server reads nothing after
    // such a request. A post the lane wrote to viewers is never declined (fanOut is only set up
    // where nothing declines one).
    bool taken = call(lane, lane->on_post, argc, argv) || argc > 5;
    if (conn->released) break;
    if (!taken) {
      hand_back(conn, request, n - at);
      break;
    }
    at += post.length;
    if (conn->hand_back_wanted) {
      hand_back(conn, b + at, n - at);
      break;
    }
  }
  // Freed only by the close callback, in a later phase of the loop: still there if released.
  flush_answers(conn);
  conn->busy = false;
  napi_close_callback_scope(env, callback_scope);
  napi_close_handle_scope(env, scope);
}

// ---------- the calls ----------

static napi_value undefined_value(napi_env env) {
  napi_value value;
  napi_get_undefined(env, &value);
  return value;
}

static bool uint32_property(napi_env env, napi_value object, const char *name, uint32_t *out) {
  napi_value value;
  return napi_get_named_property(env, object, name, &value) == napi_ok && napi_get_value_uint32(env, value, out) == napi_ok;
}

static bool read_limits(napi_env env, napi_value object, struct limits *limits) {
  return uint32_property(env, object, "bodyBytes", &limits->body_bytes) && uint32_property(env, object, "authorChars", &limits->author_units) &&
         uint32_property(env, object, "textChars", &limits->text_units);
}

static void free_fan_out(napi_env env, struct fan_out *fan_out) {
  if (!fan_out) return;
  lane_rooms_free(fan_out->rooms);
  if (fan_out->clean_ref) napi_delete_reference(env, fan_out->clean_ref);
  if (fan_out->results_ref) napi_delete_reference(env, fan_out->results_ref);
  free(fan_out->node_json);
  free(fan_out->region_json);
  free(fan_out->frame);
  free(fan_out->answers);
  if (fan_out->on_answer_rest) napi_delete_reference(env, fan_out->on_answer_rest);
  free(fan_out);
}

static void free_lane(napi_env env, void *data, void *hint) {
  (void)hint;
  struct lane *lane = data;
  // Its node is gone (it hands every connection back as it stops); any left are only let go.
  for (int32_t slot = 0; slot < lane->slot_count; slot++) {
    if (lane->slots[slot]) release_conn(lane->slots[slot]);
  }
  free_fan_out(env, lane->fan_out);
  napi_delete_reference(env, lane->on_post);
  napi_delete_reference(env, lane->on_hand_back);
  napi_async_destroy(env, lane->async);
  napi_delete_reference(env, lane->resource);
  free(lane->slots);
  free(lane);
}

// create({bodyBytes, authorChars, textChars}, onPost, onHandBack): a lane for one node, the handle
// the other calls take first.
static napi_value create(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], name, handle, resource;
  napi_valuetype post_type, back_type;
  struct limits limits;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3 || !read_limits(env, argv[0], &limits) ||
      napi_typeof(env, argv[1], &post_type) != napi_ok || post_type != napi_function || napi_typeof(env, argv[2], &back_type) != napi_ok ||
      back_type != napi_function) {
    napi_throw_type_error(env, NULL, "create: limits ({bodyBytes, authorChars, textChars}) and two functions are required");
    return NULL;
  }
  struct lane *lane = calloc(1, sizeof *lane);
  if (!lane) {
    napi_throw_error(env, NULL, "create: out of memory");
    return NULL;
  }
  lane->env = env;
  lane->limits = limits;
  // Weak: the caller keeps the functions for as long as it keeps the lane, and a strong reference
  // from here would keep both alive for good (the functions hold the caller, which holds the lane).
  if (napi_create_reference(env, argv[1], 0, &lane->on_post) != napi_ok || napi_create_reference(env, argv[2], 0, &lane->on_hand_back) != napi_ok ||
      napi_create_string_utf8(env, "sse-chat:post-lane", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_object(env, &resource) != napi_ok || napi_create_reference(env, resource, 1, &lane->resource) != napi_ok ||
      napi_async_init(env, resource, name, &lane->async) != napi_ok || napi_get_uv_event_loop(env, &lane->loop) != napi_ok ||
      napi_create_external(env, lane, free_lane, NULL, &handle) != napi_ok) {
    if (lane->resource) napi_delete_reference(env, lane->resource);
    if (lane->on_post) napi_delete_reference(env, lane->on_post);
    if (lane->on_hand_back) napi_delete_reference(env, lane->on_hand_back);
    if (lane->async) napi_async_destroy(env, lane->async);
    free(lane);
    napi_throw_error(env, NULL, "create: the lane could not be set up");
    return NULL;
  }
  return handle;
}

static napi_value int32_value(napi_env env, int32_t number) {
  napi_value value;
  napi_create_int32(env, number, &value);
  return value;
}

// The lane (a handle from create()) and up to `count` arguments after it, all there.
static struct lane *lane_args(napi_env env, napi_callback_info info, size_t count, napi_value *argv) {
  napi_value all[6];
  size_t argc = 6;
  napi_valuetype type;
  void *lane = NULL;
  if (count > 5 || napi_get_cb_info(env, info, &argc, all, NULL, NULL) != napi_ok || argc < count + 1 || napi_typeof(env, all[0], &type) != napi_ok ||
      type != napi_external || napi_get_value_external(env, all[0], &lane) != napi_ok) {
    return NULL;
  }
  for (size_t i = 0; i < count; i++) argv[i] = all[i + 1];
  return lane;
}

static bool int32_arg(napi_env env, napi_value value, int32_t *out) {
  napi_valuetype type;
  return napi_typeof(env, value, &type) == napi_ok && type == napi_number && napi_get_value_int32(env, value, out) == napi_ok;
}

// The lane and, where `wanted` is 2, the integer after it, for the calls that take no more.
static struct lane *lane_and_int(napi_env env, napi_callback_info info, size_t wanted, int32_t *number) {
  napi_value argv[1];
  struct lane *lane = lane_args(env, info, wanted - 1, argv);
  return lane && (wanted == 1 || int32_arg(env, argv[0], number)) ? lane : NULL;
}

// adopt(lane, fd): the lane reads the socket from now on (the caller has stopped Node's reads); its
// slot, or -errno.
static napi_value adopt(napi_env env, napi_callback_info info) {
  int32_t fd = -1;
  struct lane *lane = lane_and_int(env, info, 2, &fd);
  if (!lane || fd < 0) {
    napi_throw_type_error(env, NULL, "adopt: a lane and a descriptor are required");
    return NULL;
  }
  int32_t slot = 0;
  while (slot < lane->slot_count && lane->slots[slot] != NULL) slot++;
  if (slot == lane->slot_count) {
    int32_t count = lane->slot_count ? lane->slot_count * 2 : 64;
    struct conn **slots = realloc(lane->slots, (size_t)count * sizeof *slots);
    if (!slots) return int32_value(env, -ENOMEM);
    memset(slots + lane->slot_count, 0, (size_t)(count - lane->slot_count) * sizeof *slots);
    lane->slots = slots;
    lane->slot_count = count;
  }
  struct conn *conn = calloc(1, sizeof *conn);
  if (!conn) return int32_value(env, -ENOMEM);
  conn->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (conn->fd < 0) {
    int error = errno;
    free(conn);
    return int32_value(env, -error);
  }
  int failed = uv_poll_init(lane->loop, &conn->poll, conn->fd);
  if (failed == 0) {
    conn->poll.data = conn;
    conn->lane = lane;
    conn->slot = slot;
    lane->slots[slot] = conn;
    failed = uv_poll_start(&conn->poll, UV_READABLE | UV_DISCONNECT, on_readable);
    if (failed != 0) release_conn(conn);
    return int32_value(env, failed != 0 ? failed : slot);
  }
  close(conn->fd);
  free(conn);
  return int32_value(env, failed);
}

// release(lane, slot): the lane stops reading the connection, and hands nothing back (it is
// closing, or was given to something else). Nothing for a slot that is free.
static napi_value release(napi_env env, napi_callback_info info) {
  int32_t slot = -1;
  struct lane *lane = lane_and_int(env, info, 2, &slot);
  if (!lane) {
    napi_throw_type_error(env, NULL, "release: a lane and a slot are required");
    return NULL;
  }
  if (slot >= 0 && slot < lane->slot_count && lane->slots[slot]) release_conn(lane->slots[slot]);
  return undefined_value(env);
}

// handBackAll(lane): every connection back to Node, now (the node begins to stop).
static napi_value hand_back_all(napi_env env, napi_callback_info info) {
  struct lane *lane = lane_and_int(env, info, 1, NULL);
  if (!lane) {
    napi_throw_type_error(env, NULL, "handBackAll: a lane is required");
    return NULL;
  }
  for (int32_t slot = 0; slot < lane->slot_count; slot++) {
    struct conn *conn = lane->slots[slot];
    if (!conn) continue;
    if (conn->busy) conn->hand_back_wanted = true;
    else hand_back(conn, NULL, 0);
  }
  return undefined_value(env);
}

// ---------- the rooms the lane writes to (lane-rooms.c) ----------

static bool uint64_arg(napi_env env, napi_value value, uint64_t *out) {
  double number;
  napi_valuetype type;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_number || napi_get_value_double(env, value, &number) != napi_ok) return false;
  if (!(number >= 0 && number <= 9007199254740991.0) || number != (double)(uint64_t)number) return false;
  *out = (uint64_t)number;
  return true;
}

// A string property's UTF-8 bytes, in memory of its own (NUL-terminated).
static char *string_property(napi_env env, napi_value object, const char *name) {
  napi_value value;
  size_t length;
  if (napi_get_named_property(env, object, name, &value) != napi_ok || napi_get_value_string_utf8(env, value, NULL, 0, &length) != napi_ok) return NULL;
  char *text = malloc(length + 1);
  if (text && napi_get_value_string_utf8(env, value, text, length + 1, &length) != napi_ok) {
    free(text);
    return NULL;
  }
  return text;
}

// A typed array argument of `type`, held by a new reference so its memory stays where it is.
static bool held_typed_array(napi_env env, napi_value value, napi_typedarray_type type, napi_ref *ref, void **data, size_t *length) {
  napi_typedarray_type actual;
  if (napi_get_typedarray_info(env, value, &actual, length, data, NULL, NULL) != napi_ok || actual != type) return false;
  return napi_create_reference(env, value, 1, ref) == napi_ok;
}

// useClean(lane, clean): the clean flags from now on (JavaScript grew them: a Uint8Array, one
// byte per watch id).
static napi_value use_clean(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  struct lane *lane = lane_args(env, info, 1, argv);
  napi_ref ref;
  void *data;
  size_t length;
  if (!lane || !lane->fan_out || !held_typed_array(env, argv[0], napi_uint8_array, &ref, &data, &length)) {
    napi_throw_type_error(env, NULL, "useClean: a lane set up by fanOut and a Uint8Array are required");
    return NULL;
  }
  napi_delete_reference(env, lane->fan_out->clean_ref);
  lane->fan_out->clean_ref = ref;
  lane->fan_out->clean = data;
  lane->fan_out->clean_length = length;
  return undefined_value(env);
}

// fanOut(lane, {nodeJson, regionJson, maxViewers, keepAliveSeconds}, clean, results, onAnswerRest):
// from now on the lane writes the frames of posts to rooms (openRoom) with at most maxViewers
// viewers itself, and answers them where it can. results: an Int32Array of 2 x maxViewers, where
// each post's (watch id, outcome) pairs are left. onAnswerRest(slot, bytes): what the kernel did not
// take of the lane's answers, for Node to write now.
static napi_value fan_out(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  napi_valuetype rest_type;
  struct lane *lane = lane_args(env, info, 4, argv);
  struct fan_out *fan_out = lane && !lane->fan_out ? calloc(1, sizeof *fan_out) : NULL;
  void *clean = NULL, *results = NULL;
  size_t clean_length = 0, results_length = 0;
  bool ok = fan_out && uint32_property(env, argv[0], "maxViewers", &fan_out->max_viewers) && fan_out->max_viewers > 0 &&
            uint32_property(env, argv[0], "keepAliveSeconds", &fan_out->keep_alive_seconds) &&
            (fan_out->node_json = string_property(env, argv[0], "nodeJson")) && (fan_out->region_json = string_property(env, argv[0], "regionJson")) &&
            held_typed_array(env, argv[1], napi_uint8_array, &fan_out->clean_ref, &clean, &clean_length) &&
            held_typed_array(env, argv[2], napi_int32_array, &fan_out->results_ref, &results, &results_length) &&
            results_length >= 2 * (size_t)fan_out->max_viewers && napi_typeof(env, argv[3], &rest_type) == napi_ok && rest_type == napi_function &&
            napi_create_reference(env, argv[3], 0, &fan_out->on_answer_rest) == napi_ok && (fan_out->rooms = lane_rooms_new());
  if (ok) {
    // The largest frame: the body's bytes hold the author and text, the rest is the id (twice),
    // the stream, the node and the region, and the keys.
    fan_out->frame_capacity = lane->limits.body_bytes + 512 + strlen(fan_out->node_json) + strlen(fan_out->region_json);
    fan_out->frame = malloc(fan_out->frame_capacity);
    // A read's 201s: each the JSON and a head with the stream and the id again; room for a read's
    // worth of small ones, and for one of the largest.
    fan_out->answers_capacity = fan_out->frame_capacity + 512 > READ_BYTES ? fan_out->frame_capacity + 512 : READ_BYTES;
    fan_out->answers = malloc(fan_out->answers_capacity);
    ok = fan_out->frame != NULL && fan_out->answers != NULL;
  }
  if (!ok) {
    free_fan_out(env, fan_out);
    napi_throw_type_error(env, NULL, "fanOut: a lane not yet fanning out, {nodeJson, regionJson, maxViewers, keepAliveSeconds}, a Uint8Array, an Int32Array of 2 x maxViewers and a function are required");
    return NULL;
  }
  fan_out->clean = clean;
  fan_out->clean_length = clean_length;
  fan_out->results = results;
  lane->fan_out = fan_out;
  return undefined_value(env);
}

// openRoom(lane, stream): the room's index, or -1.
static napi_value open_room(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  struct lane *lane = lane_args(env, info, 1, argv);
  char name[LANE_ROOM_NAME_BYTES + 1];
  size_t length;
  if (!lane || !lane->fan_out || napi_get_value_string_utf8(env, argv[0], NULL, 0, &length) != napi_ok) {
    napi_throw_type_error(env, NULL, "openRoom: a lane set up by fanOut and a stream name are required");
    return NULL;
  }
  if (length > LANE_ROOM_NAME_BYTES) return int32_value(env, -1);
  napi_get_value_string_utf8(env, argv[0], name, sizeof name, &length);
  return int32_value(env, lane_rooms_open(lane->fan_out->rooms, (uint8_t *)name, length));
}

// closeRoom(lane, room), advance(lane, room, ms, seq), watch(lane, room, watchId, fd) -> boolean,
// unwatch(lane, watchId).
static napi_value close_room(napi_env env, napi_callback_info info) {
  int32_t room;
  struct lane *lane = lane_and_int(env, info, 2, &room);
  if (!lane || !lane->fan_out) {
    napi_throw_type_error(env, NULL, "closeRoom: a lane set up by fanOut and a room are required");
    return NULL;
  }
  lane_rooms_close(lane->fan_out->rooms, room);
  return undefined_value(env);
}

static napi_value advance(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t room;
  uint64_t ms, seq;
  struct lane *lane = lane_args(env, info, 3, argv);
  if (!lane || !lane->fan_out || !int32_arg(env, argv[0], &room) || !uint64_arg(env, argv[1], &ms) || !uint64_arg(env, argv[2], &seq)) {
    napi_throw_type_error(env, NULL, "advance: a lane set up by fanOut, a room and an id's two numbers are required");
    return NULL;
  }
  lane_rooms_advance(lane->fan_out->rooms, room, ms, seq);
  return undefined_value(env);
}

static napi_value watch(napi_env env, napi_callback_info info) {
  napi_value argv[3], result;
  int32_t room, watch_id, fd;
  struct lane *lane = lane_args(env, info, 3, argv);
  if (!lane || !lane->fan_out || !int32_arg(env, argv[0], &room) || !int32_arg(env, argv[1], &watch_id) || !int32_arg(env, argv[2], &fd)) {
    napi_throw_type_error(env, NULL, "watch: a lane set up by fanOut, a room, a watch id and a descriptor are required");
    return NULL;
  }
  napi_get_boolean(env, lane_rooms_watch(lane->fan_out->rooms, room, watch_id, fd), &result);
  return result;
}

// setPosterBusy(lane, slot, busy): whether Node holds unsent bytes of the slot's answers (the lane
// answers none of its posts meanwhile).
static napi_value set_poster_busy(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t slot;
  bool busy;
  struct lane *lane = lane_args(env, info, 2, argv);
  if (!lane || !int32_arg(env, argv[0], &slot) || napi_get_value_bool(env, argv[1], &busy) != napi_ok) {
    napi_throw_type_error(env, NULL, "setPosterBusy: a lane, a slot and a boolean are required");
    return NULL;
  }
  if (slot >= 0 && slot < lane->slot_count && lane->slots[slot]) lane->slots[slot]->poster_busy = busy;
  return undefined_value(env);
}

static napi_value unwatch(napi_env env, napi_callback_info info) {
  int32_t watch_id;
  struct lane *lane = lane_and_int(env, info, 2, &watch_id);
  if (!lane || !lane->fan_out) {
    napi_throw_type_error(env, NULL, "unwatch: a lane set up by fanOut and a watch id are required");
    return NULL;
  }
  lane_rooms_unwatch(lane->fan_out->rooms, watch_id);
  return undefined_value(env);
}

// frame(stream, author, text, ms, seq, nodeJson, regionJson, keepAliveSeconds): the frame the lane
// writes for such a message and the 201 it answers with, as two Buffers. For the tests that compare
// them with the JavaScript path's.
static napi_value frame(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  uint32_t keep_alive_seconds = 0;
  napi_value argv[8], result, frame_value = NULL, answer_value = NULL;
  char *texts[5] = {NULL};
  size_t lengths[5];
  const size_t text_args[5] = {0, 1, 2, 5, 6};
  struct lane_message message;
  bool ok = napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc == 8 && uint64_arg(env, argv[3], &message.ms) &&
            uint64_arg(env, argv[4], &message.seq) && napi_get_value_uint32(env, argv[7], &keep_alive_seconds) == napi_ok;
  for (size_t i = 0; ok && i < 5; i++) {
    ok = napi_get_value_string_utf8(env, argv[text_args[i]], NULL, 0, &lengths[i]) == napi_ok && (texts[i] = malloc(lengths[i] + 1)) != NULL &&
         napi_get_value_string_utf8(env, argv[text_args[i]], texts[i], lengths[i] + 1, &lengths[i]) == napi_ok;
  }
  result = NULL;
  if (ok) {
    message.stream = (uint8_t *)texts[0];
    message.stream_length = lengths[0];
    message.author = (uint8_t *)texts[1];
    message.author_length = lengths[1];
    message.text = (uint8_t *)texts[2];
    message.text_length = lengths[2];
    size_t capacity = lengths[1] + lengths[2] + lengths[0] + lengths[3] + lengths[4] + 512, json_start = 0, json_length = 0;
    uint8_t *bytes = malloc(capacity), *answer = malloc(capacity + 512);
    size_t length = bytes && answer ? lane_message_frame(bytes, capacity, &message, texts[3], texts[4], &json_start, &json_length) : 0;
    size_t answer_length = length ? lane_created_answer(answer, capacity + 512, &message, bytes + json_start, json_length, keep_alive_seconds, message.ms) : 0;
    void *copy;
    ok = length > 0 && answer_length > 0 && napi_create_buffer_copy(env, length, bytes, &copy, &frame_value) == napi_ok &&
         napi_create_buffer_copy(env, answer_length, answer, &copy, &answer_value) == napi_ok && napi_create_array_with_length(env, 2, &result) == napi_ok &&
         napi_set_element(env, result, 0, frame_value) == napi_ok && napi_set_element(env, result, 1, answer_value) == napi_ok;
    free(bytes);
    free(answer);
  }
  for (size_t i = 0; i < 5; i++) free(texts[i]);
  if (!ok) {
    napi_throw_type_error(env, NULL, "frame: stream, author, text, ms, seq, nodeJson, regionJson and keepAliveSeconds are required");
    return NULL;
  }
  return result;
}

// parse(bytes, limits): what the lane makes of a request at the start of the bytes: [stream,
// author, text, keepAlive, length], or null. For the tests that compare it with the JavaScript path.
static napi_value parse(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result, values[4], item;
  size_t length;
  void *data;
  struct limits limits;
  bool is_buffer = false;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 || napi_is_buffer(env, argv[0], &is_buffer) != napi_ok || !is_buffer ||
      napi_get_buffer_info(env, argv[0], &data, &length) != napi_ok || !read_limits(env, argv[1], &limits)) {
    napi_throw_type_error(env, NULL, "parse: a Buffer and limits ({bodyBytes, authorChars, textChars}) are required");
    return NULL;
  }
  struct post post;
  if (parse_post(data, length, &limits, &post) != TAKEN) {
    napi_get_null(env, &result);
    return result;
  }
  napi_create_array_with_length(env, 5, &result);
  post_values(env, data, &post, values);
  for (uint32_t i = 0; i < 4; i++) napi_set_element(env, result, i, values[i]);
  napi_create_uint32(env, (uint32_t)post.length, &item);
  napi_set_element(env, result, 4, item);
  return result;
}

NAPI_MODULE_INIT() {
  static const struct {
    const char *name;
    napi_callback function;
  } calls[] = {{"create", create}, {"adopt", adopt}, {"release", release}, {"handBackAll", hand_back_all}, {"parse", parse},
                 {"fanOut", fan_out}, {"useClean", use_clean}, {"openRoom", open_room}, {"closeRoom", close_room},
                 {"advance", advance}, {"watch", watch}, {"unwatch", unwatch}, {"frame", frame},
                 {"setPosterBusy", set_poster_busy}};
  for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
    napi_value function;
    if (napi_create_function(env, calls[i].name, NAPI_AUTO_LENGTH, calls[i].function, NULL, &function) != napi_ok ||
        napi_set_named_property(env, exports, calls[i].name, function) != napi_ok) {
      return NULL;
    }
  }
  return exports;
}
