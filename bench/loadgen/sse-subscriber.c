/*
 * The native subscriber worker: the same job as subscriber.ts (open SSE connections, scan each
 * read for `id:` and the publisher's `|seq|sendUs|node|` marker, count deliveries, duplicates and
 * order, histogram the latency) with one epoll loop and no runtime in between. On loopback a
 * Node socket costs ~3 us of user time per read and ~50 us per connection on top of the kernel's
 * share; this keeps the load generator's side close to the kernel's floor, so on a 2-core machine
 * it stays cheaper per message and per connection than the servers it measures.
 *
 * Driven by the orchestrator over stdin/stdout, one line per command and one line per answer:
 *   C <concurrency> <timeout_ms> <count>   then <count> lines "<port> <stream> <node> <path>"
 *       -> OK <established> <failed> <first_start_us> <last_established_us> <first error...>
 *   R                                     reset latency histograms and per-window counts -> OK
 *   A <timeout_ms> <stall_ms> <n> <cumulative expected per stream x n>
 *       -> OK <complete 0|1> <last_delivery_us>     (once every connection saw its count)
 *   S <n> <window posts per stream x n>
 *       -> OK <connections> <expected> <delivered> <duplicates> <out_of_order> <closed>
 *             <last_delivery_us> <max_us> <cross_max_us> H <k> <idx:count>... X <k> <idx:count>...
 *   Q                                     reset every connection -> OK <count>
 * Times are microseconds on CLOCK_MONOTONIC, the clock Node's process.hrtime() reads.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- latency histogram: the bucket layout of histogram.ts ---- */
#define EXACT 256
#define SUB_BUCKETS 128
#define BUCKETS (EXACT + (31 - 8) * SUB_BUCKETS)

typedef struct {
  double counts[BUCKETS];
  double max_us;
} histogram;

static int bucket_of(double value_us) {
  uint32_t v = value_us < 0 ? 0 : value_us > 2147483647.0 ? 2147483647u : (uint32_t)value_us;
  if (v < EXACT) return (int)v;
  int exponent = 31 - __builtin_clz(v);
  return EXACT + (exponent - 8) * SUB_BUCKETS + (int)((v >> (exponent - 7)) - SUB_BUCKETS);
}

static void record(histogram *h, double value_us) {
  h->counts[bucket_of(value_us)] += 1;
  if (value_us > h->max_us) h->max_us = value_us;
}

/* ---- per-connection scanner: the state machine of sse-scanner.ts ---- */
enum { LINE_START, SKIP_LINE, PREFIX_I, PREFIX_ID, ID_VALUE, PREFIX_D, DATA_SCAN, MARK_SEQ, MARK_TS, MARK_NODE };
enum { CHUNK_SIZE, CHUNK_EXT, CHUNK_DATA, CHUNK_DATA_CR, CHUNK_DATA_LF, CHUNK_DONE };
enum { PHASE_CONNECTING, PHASE_HEAD, PHASE_OPEN, PHASE_DEAD };

typedef struct {
  int fd;
  int phase;
  int stream;
  int node;
  int port;
  char *request;
  char head[4096];
  int head_len;
  int status;
  int chunked;
  int chunk_state;
  uint64_t chunk_left;
  int state;
  int prefix_pos;
  double id_a, id_b, event_id_a, event_id_b, last_id_a, last_id_b;
  int id_part, id_digits;
  uint64_t seq;
  double send_us;
  int from_node;
  int have_marker;
  uint64_t received, received_at_reset, duplicates, out_of_order;
  uint8_t *seen;
  size_t seen_len;
} connection;

static connection *conns;
static int conn_count, conn_cap;
static int epfd;
static histogram latency, cross_node;
static double last_delivery_us;
static uint64_t closed_after_open;

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static void dispatch(connection *c, double now) {
  if (!c->have_marker) {
    c->event_id_a = -1;
    return;
  }
  c->have_marker = 0;
  if (c->event_id_a >= 0) {
    if (c->event_id_a < c->last_id_a || (c->event_id_a == c->last_id_a && c->event_id_b <= c->last_id_b)) c->out_of_order++;
    c->last_id_a = c->event_id_a;
    c->last_id_b = c->event_id_b;
  }
  c->event_id_a = -1;
  size_t byte = c->seq >> 3;
  if (byte >= c->seen_len) {
    size_t grown = c->seen_len ? c->seen_len * 2 : 64;
    while (grown <= byte) grown *= 2;
    c->seen = realloc(c->seen, grown);
    memset(c->seen + c->seen_len, 0, grown - c->seen_len);
    c->seen_len = grown;
  }
  uint8_t bit = (uint8_t)(1u << (c->seq & 7));
  if (c->seen[byte] & bit) {
    c->duplicates++;
    return;
  }
  c->seen[byte] |= bit;
  c->received++;
  double latency_us = now - c->send_us;
  record(&latency, latency_us);
  if (c->from_node != c->node) record(&cross_node, latency_us);
  if (now > last_delivery_us) last_delivery_us = now;
}

static void scan(connection *c, const uint8_t *p, size_t n, double now) {
  int state = c->state;
  for (size_t i = 0; i < n; i++) {
    uint8_t ch = p[i];
    if (ch == '\r') continue;
    switch (state) {
      case LINE_START:
        if (ch == '\n') dispatch(c, now);
        else if (ch == 'i') state = PREFIX_I;
        else if (ch == 'd') { state = PREFIX_D; c->prefix_pos = 1; }
        else state = SKIP_LINE;
        break;
      case SKIP_LINE:
        if (ch == '\n') state = LINE_START;
        break;
      case PREFIX_I:
        state = ch == 'd' ? PREFIX_ID : ch == '\n' ? LINE_START : SKIP_LINE;
        break;
      case PREFIX_ID:
        if (ch == ':') {
          state = ID_VALUE;
          c->id_a = c->id_b = 0;
          c->id_part = c->id_digits = 0;
        } else state = ch == '\n' ? LINE_START : SKIP_LINE;
        break;
      case ID_VALUE:
        if (ch >= '0' && ch <= '9') {
          if (c->id_part == 0) c->id_a = c->id_a * 10 + (ch - '0');
          else c->id_b = c->id_b * 10 + (ch - '0');
          c->id_digits = 1;
        } else if (ch == '\n') {
          c->event_id_a = c->id_a;
          c->event_id_b = c->id_b;
          state = LINE_START;
        } else if (c->id_digits && c->id_part == 0) c->id_part = 1;
        break;
      case PREFIX_D:
        if (c->prefix_pos < 4 && ch == "data"[c->prefix_pos]) c->prefix_pos++;
        else if (c->prefix_pos == 4 && ch == ':') state = DATA_SCAN;
        else state = ch == '\n' ? LINE_START : SKIP_LINE;
        break;
      case DATA_SCAN:
        if (ch == '|') { state = MARK_SEQ; c->seq = 0; }
        else if (ch == '\n') state = LINE_START;
        break;
      case MARK_SEQ:
        if (ch >= '0' && ch <= '9') c->seq = c->seq * 10 + (ch - '0');
        else if (ch == '|') { state = MARK_TS; c->send_us = 0; }
        else state = ch == '\n' ? LINE_START : DATA_SCAN;
        break;
      case MARK_TS:
        if (ch >= '0' && ch <= '9') c->send_us = c->send_us * 10 + (ch - '0');
        else if (ch == '|') { state = MARK_NODE; c->from_node = 0; }
        else state = ch == '\n' ? LINE_START : DATA_SCAN;
        break;
      case MARK_NODE:
        if (ch >= '0' && ch <= '9') c->from_node = c->from_node * 10 + (ch - '0');
        else if (ch == '|') { c->have_marker = 1; state = DATA_SCAN; }
        else state = ch == '\n' ? LINE_START : DATA_SCAN;
        break;
    }
  }
  c->state = state;
}

static void feed_body(connection *c, const uint8_t *p, size_t n, double now) {
  if (!c->chunked) {
    scan(c, p, n, now);
    return;
  }
  size_t at = 0;
  while (at < n) {
    switch (c->chunk_state) {
      case CHUNK_SIZE: {
        uint8_t ch = p[at++];
        int digit = ch >= '0' && ch <= '9' ? ch - '0' : (ch | 0x20) >= 'a' && (ch | 0x20) <= 'f' ? (ch | 0x20) - 'a' + 10 : -1;
        if (digit >= 0) c->chunk_left = c->chunk_left * 16 + digit;
        else if (ch == '\n') c->chunk_state = c->chunk_left ? CHUNK_DATA : CHUNK_DONE;
        else c->chunk_state = CHUNK_EXT;
        break;
      }
      case CHUNK_EXT:
        if (p[at++] == '\n') c->chunk_state = c->chunk_left ? CHUNK_DATA : CHUNK_DONE;
        break;
      case CHUNK_DATA: {
        size_t take = n - at < c->chunk_left ? n - at : c->chunk_left;
        scan(c, p + at, take, now);
        c->chunk_left -= take;
        at += take;
        if (!c->chunk_left) c->chunk_state = CHUNK_DATA_CR;
        break;
      }
      case CHUNK_DATA_CR:
        c->chunk_state = p[at++] == '\r' ? CHUNK_DATA_LF : CHUNK_SIZE;
        break;
      case CHUNK_DATA_LF:
        at++;
        c->chunk_state = CHUNK_SIZE;
        break;
      default:
        return;
    }
  }
}

/* ---- the connect phase ---- */
static int connect_pending, connect_first, connect_next, connect_total, connect_concurrency, connect_established, connect_failed;
static double connect_first_start, connect_last_established, connect_deadline;
static char connect_error[256];

static void fail_connection(connection *c, const char *why) {
  if (c->phase == PHASE_DEAD) return;
  int was_open = c->phase == PHASE_OPEN;
  if (c->fd >= 0) {
    epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
  }
  c->fd = -1;
  c->phase = PHASE_DEAD;
  if (was_open) {
    closed_after_open++;
  } else {
    connect_failed++;
    connect_pending--;
    if (!connect_error[0]) snprintf(connect_error, sizeof connect_error, "%s", why);
  }
}

/*
 * Connections come from several loopback source addresses (127.0.0.1-127.0.0.16), the kernel
 * choosing each one's port at connect (IP_BIND_ADDRESS_NO_PORT). From one source address to one
 * server port, Linux's ephemeral port search tries even ports first and, once ~14,000 of them are
 * taken, walks all of them on every connect: in the 15,000-connection scenario that search
 * (__inet_check_established, __inet_hash_connect in `perf record -a`) was 73% of this process's
 * CPU and made the load generator, not the server, set the setup time.
 */
#define SOURCE_ADDRESSES 16 /* protocol.ts's SOURCE_ADDRESSES */

static void open_connection(int index) {
  connection *c = &conns[index];
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  connect_pending++;
  if (c->fd < 0) {
    fail_connection(c, strerror(errno));
    return;
  }
  int one = 1;
  setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
  struct sockaddr_in source = {.sin_family = AF_INET, .sin_port = 0};
  source.sin_addr.s_addr = htonl(0x7f000001u + (uint32_t)(index % SOURCE_ADDRESSES));
  if (bind(c->fd, (struct sockaddr *)&source, sizeof source) < 0) {
    fail_connection(c, strerror(errno));
    return;
  }
  struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)c->port)};
  address.sin_addr.s_addr = htonl(0x7f000001u);
  if (connect(c->fd, (struct sockaddr *)&address, sizeof address) < 0 && errno != EINPROGRESS) {
    fail_connection(c, strerror(errno));
    return;
  }
  struct epoll_event event = {.events = EPOLLOUT, .data.u32 = (uint32_t)index};
  epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &event);
}

static void open_more(void) {
  while (connect_pending < connect_concurrency && connect_next < connect_total) open_connection(connect_next++);
}

static void on_event(int index, uint32_t events, uint8_t *buffer, size_t size) {
  connection *c = &conns[index];
  if (c->phase == PHASE_DEAD) return;
  if (c->phase == PHASE_CONNECTING) {
    int error = 0;
    socklen_t length = sizeof error;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &error, &length);
    if (error || (events & (EPOLLERR | EPOLLHUP))) {
      fail_connection(c, error ? strerror(error) : "connection refused");
      return;
    }
    size_t request_length = strlen(c->request);
    if (write(c->fd, c->request, request_length) != (ssize_t)request_length) {
      fail_connection(c, "request write failed");
      return;
    }
    free(c->request);
    c->request = NULL;
    c->phase = PHASE_HEAD;
    struct epoll_event event = {.events = EPOLLIN, .data.u32 = (uint32_t)index};
    epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &event);
    return;
  }
  ssize_t n = read(c->fd, buffer, size);
  if (n <= 0) {
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    fail_connection(c, n == 0 ? "closed before the response head" : strerror(errno));
    return;
  }
  double now = now_us();
  if (c->phase == PHASE_HEAD) {
    size_t room = sizeof c->head - 1 - (size_t)c->head_len;
    size_t copy = (size_t)n < room ? (size_t)n : room;
    memcpy(c->head + c->head_len, buffer, copy);
    int before = c->head_len;
    c->head_len += (int)copy;
    c->head[c->head_len] = 0;
    char *end = strstr(c->head, "\r\n\r\n");
    if (!end) {
      if (!room) fail_connection(c, "response head too long");
      return;
    }
    *end = 0;
    c->status = atoi(c->head + 9);
    if (c->status != 200) {
      char why[64];
      snprintf(why, sizeof why, "HTTP %d", c->status);
      fail_connection(c, why);
      return;
    }
    for (char *p = c->head; *p; p++) *p = (char)((*p >= 'A' && *p <= 'Z') ? *p + 32 : *p);
    char *te = strstr(c->head, "\r\ntransfer-encoding:");
    if (te) {
      char *line_end = strchr(te + 2, '\r');
      if (line_end) *line_end = 0;
      c->chunked = strstr(te, "chunked") != NULL;
    }
    size_t body_offset = (size_t)(end - c->head) + 4 - (size_t)before;
    c->phase = PHASE_OPEN;
    connect_pending--;
    connect_established++;
    connect_last_established = now;
    if ((size_t)n > body_offset) feed_body(c, buffer + body_offset, (size_t)n - body_offset, now);
    return;
  }
  feed_body(c, buffer, (size_t)n, now);
}

/* ---- commands, read from stdin inside the same epoll loop so sockets are read all the time ---- */
#define STDIN_TAG UINT32_MAX

static char *input;
static size_t input_len, input_cap;
static int input_closed;

static void answer(const char *text) {
  fputs(text, stdout);
  fputc('\n', stdout);
  fflush(stdout);
}

static void read_stdin(void) {
  for (;;) {
    if (input_cap - input_len < 65536) {
      input_cap = input_cap ? input_cap * 2 : 1 << 20;
      input = realloc(input, input_cap);
    }
    ssize_t n = read(0, input + input_len, input_cap - input_len - 1);
    if (n > 0) {
      input_len += (size_t)n;
      continue;
    }
    if (n == 0) input_closed = 1;
    return; /* EAGAIN, or closed */
  }
}

/* The end of the n-th line of the input (just past its newline), or NULL if not all there yet. */
static char *line_end(size_t from, int lines) {
  char *at = input + from;
  for (int i = 0; i < lines; i++) {
    char *newline = memchr(at, '\n', input_len - (size_t)(at - input));
    if (!newline) return NULL;
    at = newline + 1;
  }
  return at;
}

static void consume(char *upto) {
  size_t used = (size_t)(upto - input);
  memmove(input, upto, input_len - used);
  input_len -= used;
}

static double *parse_numbers(char *text, int *count) {
  char *rest = text;
  int n = (int)strtol(rest, &rest, 10);
  double *values = calloc((size_t)(n > 0 ? n : 1), sizeof(double));
  for (int i = 0; i < n; i++) values[i] = strtod(rest, &rest);
  *count = n;
  return values;
}

static void append_histogram(char **out, size_t *left, const histogram *h) {
  int nonzero = 0;
  for (int i = 0; i < BUCKETS; i++) nonzero += h->counts[i] != 0;
  int w = snprintf(*out, *left, " %d", nonzero);
  *out += w;
  *left -= (size_t)w;
  for (int i = 0; i < BUCKETS; i++) {
    if (!h->counts[i]) continue;
    w = snprintf(*out, *left, " %d:%.0f", i, h->counts[i]);
    *out += w;
    *left -= (size_t)w;
  }
}

static double await_deadline, await_stall_us, await_last_progress;
static uint64_t await_last_total;
static double *await_expected;
static int await_streams;

/* 0: keep waiting; 1: gave up (stall or timeout); 2: every connection has its count. */
static int await_check(void) {
  uint64_t total = 0;
  int complete = 1;
  for (int i = 0; i < conn_count; i++) {
    connection *c = &conns[i];
    if (c->phase != PHASE_OPEN && !(c->phase == PHASE_DEAD && c->received)) continue;
    total += c->received;
    if (c->stream < await_streams && (double)c->received < await_expected[c->stream]) complete = 0;
  }
  double now = now_us();
  if (total != await_last_total) {
    await_last_total = total;
    await_last_progress = now;
  }
  if (complete) return 2;
  return now - await_last_progress > await_stall_us || now > await_deadline;
}

static int connect_check(void) {
  if (now_us() > connect_deadline) {
    for (int i = connect_first; i < conn_count; i++)
      if (conns[i].phase == PHASE_CONNECTING || conns[i].phase == PHASE_HEAD) fail_connection(&conns[i], "timed out");
    connect_next = connect_total;
  }
  open_more();
  return connect_pending == 0 && connect_next >= connect_total;
}

enum { IDLE, CONNECTING, AWAITING };
static int mode = IDLE;
static char reply[1 << 20];

/* Starts the command at the head of the input if it is complete; returns 0 if it must wait. */
static int start_command(void) {
  char *end = line_end(0, 1);
  if (!end) return 0;
  end[-1] = 0;
  char command = input[0];
  if (command == 'C') {
    int concurrency = 0, count = 0;
    double timeout_ms = 0;
    sscanf(input + 1, "%d %lf %d", &concurrency, &timeout_ms, &count);
    end[-1] = '\n';
    char *all = line_end(0, 1 + count);
    if (!all) return 0;
    if (conn_count + count > conn_cap) {
      conn_cap = conn_count + count;
      conns = realloc(conns, sizeof(connection) * (size_t)conn_cap);
    }
    connect_first = conn_count;
    char *at = end;
    for (int i = 0; i < count; i++) {
      char *next = memchr(at, '\n', input_len - (size_t)(at - input));
      *next = 0;
      connection *c = &conns[conn_count++];
      memset(c, 0, sizeof *c);
      char path[1024];
      sscanf(at, "%d %d %d %1023s", &c->port, &c->stream, &c->node, path);
      c->fd = -1;
      c->event_id_a = c->last_id_a = c->last_id_b = -1;
      size_t length = strlen(path) + 128;
      c->request = malloc(length);
      snprintf(c->request, length, "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n",
               path, c->port);
      at = next + 1;
    }
    consume(all);
    connect_total = conn_count;
    connect_next = connect_first;
    connect_pending = connect_established = connect_failed = 0;
    connect_concurrency = concurrency > 0 ? concurrency : 1;
    connect_error[0] = 0;
    connect_first_start = now_us();
    connect_last_established = 0;
    connect_deadline = connect_first_start + timeout_ms * 1000;
    mode = CONNECTING;
    return 1;
  }
  if (command == 'R') {
    memset(&latency, 0, sizeof latency);
    memset(&cross_node, 0, sizeof cross_node);
    for (int i = 0; i < conn_count; i++) conns[i].received_at_reset = conns[i].received;
    answer("OK");
  } else if (command == 'A') {
    char *rest = input + 1;
    double timeout_ms = strtod(rest, &rest);
    double stall_ms = strtod(rest, &rest);
    free(await_expected);
    await_expected = parse_numbers(rest, &await_streams);
    double start = now_us();
    await_deadline = start + timeout_ms * 1000;
    await_stall_us = stall_ms * 1000;
    await_last_progress = start;
    await_last_total = (uint64_t)-1;
    mode = AWAITING;
  } else if (command == 'S') {
    int streams = 0;
    double *window = parse_numbers(input + 1, &streams);
    uint64_t open = 0, delivered = 0, duplicates = 0, out_of_order = 0;
    double expected = 0;
    for (int i = 0; i < conn_count; i++) {
      connection *c = &conns[i];
      if (c->phase != PHASE_OPEN && !(c->phase == PHASE_DEAD && c->received)) continue;
      if (c->phase == PHASE_OPEN) open++;
      if (c->stream < streams) expected += window[c->stream];
      delivered += c->received - c->received_at_reset;
      duplicates += c->duplicates;
      out_of_order += c->out_of_order;
    }
    free(window);
    char *out = reply;
    size_t left = sizeof reply;
    int w = snprintf(out, left, "OK %llu %.0f %llu %llu %llu %llu %.0f %.0f %.0f H", (unsigned long long)open, expected,
                     (unsigned long long)delivered, (unsigned long long)duplicates, (unsigned long long)out_of_order,
                     (unsigned long long)closed_after_open, last_delivery_us, latency.max_us, cross_node.max_us);
    out += w;
    left -= (size_t)w;
    append_histogram(&out, &left, &latency);
    w = snprintf(out, left, " X");
    out += w;
    left -= (size_t)w;
    append_histogram(&out, &left, &cross_node);
    answer(reply);
  } else if (command == 'Q') {
    int count = 0;
    struct linger reset_on_close = {1, 0}; /* RST: no TIME_WAIT left behind for the next run */
    for (int i = 0; i < conn_count; i++) {
      connection *c = &conns[i];
      if (c->fd >= 0) {
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &reset_on_close, sizeof reset_on_close);
        close(c->fd); /* closing also leaves the epoll set */
        count++;
      }
      free(c->seen);
      free(c->request);
    }
    conn_count = 0;
    closed_after_open = 0;
    snprintf(reply, sizeof reply, "OK %d", count);
    answer(reply);
  } else {
    answer("ERR unknown command");
  }
  consume(end);
  return 1;
}

int main(void) {
  struct rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
  epfd = epoll_create1(0);
  fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
  struct epoll_event stdin_event = {.events = EPOLLIN, .data.u32 = STDIN_TAG};
  epoll_ctl(epfd, EPOLL_CTL_ADD, 0, &stdin_event);
  size_t size = 256 * 1024;
  uint8_t *buffer = malloc(size);
  struct epoll_event events[1024];

  for (;;) {
    int k = epoll_wait(epfd, events, 1024, 20);
    for (int i = 0; i < k; i++) {
      if (events[i].data.u32 == STDIN_TAG) read_stdin();
      else on_event((int)events[i].data.u32, events[i].events, buffer, size);
    }
    if (mode == CONNECTING && connect_check()) {
      snprintf(reply, sizeof reply, "OK %d %d %.0f %.0f %s", connect_established, connect_failed, connect_first_start,
               connect_last_established, connect_error);
      answer(reply);
      mode = IDLE;
    }
    static double next_check;
    if (mode == AWAITING && now_us() >= next_check) {
      next_check = now_us() + 5000; /* a scan over every connection: at most every 5 ms */
      int result = await_check();
      if (result) {
        snprintf(reply, sizeof reply, "OK %d %.0f", result == 2, last_delivery_us);
        answer(reply);
        mode = IDLE;
      }
    }
    while (mode == IDLE && input_len && start_command()) {
    }
    if (input_closed && mode == IDLE && !input_len) return 0;
  }
}
