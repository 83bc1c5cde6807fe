// The rooms whose viewers the post lane writes to itself. The Hub mirrors here, for each stream
// with live JSON viewers, their descriptors; and each message a stream gets from JavaScript, so
// that a post the lane reads can take the next id, be written to the stream's viewers and only
// then be told to JavaScript, which stores it and does the rest (hub.ts, the lane's post). Rooms
// are found by name in a chained hash table; viewers are the Hub's watch ids, whose clean flags
// (a Uint8Array JavaScript writes) say which may be written now: nothing of theirs queued in
// Node, nothing unsent, not closing. See post-lane.c for where it is used.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "lane-rooms.h"
#include "send-now.h"

struct room {
  bool open;
  // The newest id is known once JavaScript told one (lane_rooms_advance) or the lane took one.
  bool known;
  uint8_t name_length;
  uint8_t name[LANE_ROOM_NAME_BYTES];
  uint64_t last_ms;
  uint64_t last_seq;
  // The next room in its hash bucket, or -1.
  int32_t next;
  int32_t *watches;
  uint32_t count;
  uint32_t capacity;
};

struct watch {
  int fd;
  // -1: not in use.
  int32_t room;
  // Where it is in its room's list (for removal in constant time).
  uint32_t at;
};

struct lane_rooms {
  struct room *rooms;
  int32_t room_capacity;
  // Closed rooms' indexes, to reuse.
  int32_t *free_rooms;
  int32_t free_count;
  int32_t *buckets;
  uint32_t bucket_count;
  int32_t open_count;
  struct watch *watches;
  int32_t watch_capacity;
};

static uint32_t hash_name(const uint8_t *name, size_t length) {
  uint32_t hash = 2166136261u;
  for (size_t i = 0; i < length; i++) hash = (hash ^ name[i]) * 16777619u;
  return hash;
}

struct lane_rooms *lane_rooms_new(void) {
  struct lane_rooms *rooms = calloc(1, sizeof *rooms);
  if (!rooms) return NULL;
  rooms->bucket_count = 256;
  rooms->buckets = malloc(rooms->bucket_count * sizeof *rooms->buckets);
  if (!rooms->buckets) {
    free(rooms);
    return NULL;
  }
  for (uint32_t i = 0; i < rooms->bucket_count; i++) rooms->buckets[i] = -1;
  return rooms;
}

void lane_rooms_free(struct lane_rooms *rooms) {
  if (!rooms) return;
  for (int32_t i = 0; i < rooms->room_capacity; i++) free(rooms->rooms[i].watches);
  free(rooms->rooms);
  free(rooms->free_rooms);
  free(rooms->buckets);
  free(rooms->watches);
  free(rooms);
}

static bool valid_room(const struct lane_rooms *rooms, int32_t room) {
  return room >= 0 && room < rooms->room_capacity && rooms->rooms[room].open;
}

int32_t lane_rooms_find(const struct lane_rooms *rooms, const uint8_t *name, size_t length) {
  if (length == 0 || length > LANE_ROOM_NAME_BYTES) return -1;
  int32_t at = rooms->buckets[hash_name(name, length) & (rooms->bucket_count - 1)];
  while (at >= 0) {
    const struct room *room = &rooms->rooms[at];
    if (room->name_length == length && memcmp(room->name, name, length) == 0) return at;
    at = room->next;
  }
  return -1;
}

static void link_room(struct lane_rooms *rooms, int32_t index) {
  struct room *room = &rooms->rooms[index];
  uint32_t bucket = hash_name(room->name, room->name_length) & (rooms->bucket_count - 1);
  room->next = rooms->buckets[bucket];
  rooms->buckets[bucket] = index;
}

// Twice the buckets once there are more open rooms than buckets.
static bool grow_buckets(struct lane_rooms *rooms) {
  uint32_t count = rooms->bucket_count * 2;
  int32_t *buckets = malloc(count * sizeof *buckets);
  if (!buckets) return false;
  for (uint32_t i = 0; i < count; i++) buckets[i] = -1;
  free(rooms->buckets);
  rooms->buckets = buckets;
  rooms->bucket_count = count;
  for (int32_t i = 0; i < rooms->room_capacity; i++) {
    if (rooms->rooms[i].open) link_room(rooms, i);
  }
  return true;
}

static int32_t take_room_index(struct lane_rooms *rooms) {
  if (rooms->free_count > 0) return rooms->free_rooms[--rooms->free_count];
  int32_t capacity = rooms->room_capacity ? rooms->room_capacity * 2 : 64;
  struct room *grown = realloc(rooms->rooms, (size_t)capacity * sizeof *grown);
  if (!grown) return -1;
  memset(grown + rooms->room_capacity, 0, (size_t)(capacity - rooms->room_capacity) * sizeof *grown);
  rooms->rooms = grown;
  int32_t *free_rooms = realloc(rooms->free_rooms, (size_t)capacity * sizeof *free_rooms);
  if (!free_rooms) return -1;
  rooms->free_rooms = free_rooms;
  // The new indexes, the lowest taken first.
  for (int32_t i = capacity - 1; i > rooms->room_capacity; i--) rooms->free_rooms[rooms->free_count++] = i;
  int32_t index = rooms->room_capacity;
  rooms->room_capacity = capacity;
  return index;
}

int32_t lane_rooms_open(struct lane_rooms *rooms, const uint8_t *name, size_t length) {
  if (length == 0 || length > LANE_ROOM_NAME_BYTES || lane_rooms_find(rooms, name, length) >= 0) return -1;
  if ((uint32_t)rooms->open_count >= rooms->bucket_count && !grow_buckets(rooms)) return -1;
  int32_t index = take_room_index(rooms);
  if (index < 0) return -1;
  struct room *room = &rooms->rooms[index];
  int32_t *watches = room->watches;
  uint32_t capacity = room->capacity;
  *room = (struct room){.open = true, .name_length = (uint8_t)length, .watches = watches, .capacity = capacity};
  memcpy(room->name, name, length);
  link_room(rooms, index);
  rooms->open_count++;
  return index;
}

void lane_rooms_close(struct lane_rooms *rooms, int32_t index) {
  if (!valid_room(rooms, index)) return;
  struct room *room = &rooms->rooms[index];
  for (uint32_t i = 0; i < room->count; i++) rooms->watches[room->watches[i]].room = -1;
  room->count = 0;
  room->open = false;
  int32_t *link = &rooms->buckets[hash_name(room->name, room->name_length) & (rooms->bucket_count - 1)];
  while (*link != index) link = &rooms->rooms[*link].next;
  *link = room->next;
  rooms->free_rooms[rooms->free_count++] = index;
  rooms->open_count--;
}

void lane_rooms_advance(struct lane_rooms *rooms, int32_t index, uint64_t ms, uint64_t seq) {
  if (!valid_room(rooms, index)) return;
  struct room *room = &rooms->rooms[index];
  // Never back: the next id must stay past every one the stream gave.
  if (room->known && (ms < room->last_ms || (ms == room->last_ms && seq <= room->last_seq))) return;
  room->known = true;
  room->last_ms = ms;
  room->last_seq = seq;
}

bool lane_rooms_watch(struct lane_rooms *rooms, int32_t index, int32_t watch, int fd) {
  if (!valid_room(rooms, index) || watch < 0 || fd < 0) return false;
  if (watch >= rooms->watch_capacity) {
    int32_t capacity = rooms->watch_capacity ? rooms->watch_capacity : 64;
    while (capacity <= watch) capacity *= 2;
    struct watch *grown = realloc(rooms->watches, (size_t)capacity * sizeof *grown);
    if (!grown) return false;
    for (int32_t i = rooms->watch_capacity; i < capacity; i++) grown[i] = (struct watch){.fd = -1, .room = -1};
    rooms->watches = grown;
    rooms->watch_capacity = capacity;
  }
  if (rooms->watches[watch].room >= 0) return false;
  struct room *room = &rooms->rooms[index];
  if (room->count == room->capacity) {
    uint32_t capacity = room->capacity ? room->capacity * 2 : 8;
    int32_t *grown = realloc(room->watches, capacity * sizeof *grown);
    if (!grown) return false;
    room->watches = grown;
    room->capacity = capacity;
  }
  room->watches[room->count] = watch;
  rooms->watches[watch] = (struct watch){.fd = fd, .room = index, .at = room->count};
  room->count++;
  return true;
}

void lane_rooms_unwatch(struct lane_rooms *rooms, int32_t watch) {
  if (watch < 0 || watch >= rooms->watch_capacity || rooms->watches[watch].room < 0) return;
  struct watch *gone = &rooms->watches[watch];
  struct room *room = &rooms->rooms[gone->room];
  // The room's last viewer takes the place of the one that goes.
  int32_t moved = room->watches[--room->count];
  room->watches[gone->at] = moved;
  rooms->watches[moved].at = gone->at;
  *gone = (struct watch){.fd = -1, .room = -1};
}

bool lane_rooms_next_id(struct lane_rooms *rooms, int32_t index, uint64_t now_ms, uint32_t max_viewers, uint64_t *ms, uint64_t *seq) {
  if (!valid_room(rooms, index)) return false;
  struct room *room = &rooms->rooms[index];
  if (!room->known || room->count > max_viewers) return false;
  if (now_ms > room->last_ms) {
    room->last_ms = now_ms;
    room->last_seq = 0;
  } else {
    room->last_seq++;
  }
  *ms = room->last_ms;
  *seq = room->last_seq;
  return true;
}

static bool is_clean(const uint8_t *clean, size_t clean_length, int32_t watch) {
  return (size_t)watch < clean_length && clean[watch] != 0;
}

uint32_t lane_rooms_clean_viewers(const struct lane_rooms *rooms, int32_t index, uint32_t max_viewers, const uint8_t *clean, size_t clean_length) {
  if (!valid_room(rooms, index)) return 0;
  const struct room *room = &rooms->rooms[index];
  uint32_t count = 0;
  // A busier room's posts are JavaScript's: not worth a look at each of its viewers.
  if (room->count > max_viewers) return 0;
  for (uint32_t i = 0; i < room->count; i++) count += is_clean(clean, clean_length, room->watches[i]);
  return count;
}

uint32_t lane_rooms_send(const struct lane_rooms *rooms, int32_t index, uint8_t *clean, size_t clean_length, const uint8_t *frame,
                         size_t frame_length, int32_t *results, uint32_t max_results) {
  if (!valid_room(rooms, index)) return 0;
  const struct room *room = &rooms->rooms[index];
  uint32_t written = 0;
  for (uint32_t i = 0; i < room->count && written < max_results; i++) {
    int32_t watch = room->watches[i];
    if (!is_clean(clean, clean_length, watch)) continue;
    // A frame is far shorter than 2 GB (the lane's body limit and a few hundred bytes).
    int32_t sent = (int32_t)send_now(rooms->watches[watch].fd, frame, frame_length);
    results[2 * written] = watch;
    results[2 * written + 1] = sent < 0 ? sent : (int32_t)(frame_length - (size_t)sent);
    // Not clean until JavaScript has written the rest (or closed it): a pipelined post read next
    // must not write into the middle of this frame, whatever JavaScript does with this one.
    if (sent != (int32_t)frame_length) clean[watch] = 0;
    written++;
  }
  return written;
}

// ---------- the frame ----------

struct out {
  uint8_t *at;
  uint8_t *end;
  bool full;
};

static void put(struct out *out, const void *bytes, size_t length) {
  if (out->full || (size_t)(out->end - out->at) < length) {
    out->full = true;
    return;
  }
  memcpy(out->at, bytes, length);
  out->at += length;
}

static void put_text(struct out *out, const char *text) {
  put(out, text, strlen(text));
}

static void put_number(struct out *out, uint64_t number) {
  char digits[24];
  size_t at = sizeof digits;
  do {
    digits[--at] = (char)('0' + number % 10);
    number /= 10;
  } while (number > 0);
  put(out, digits + at, sizeof digits - at);
}

static void put_id(struct out *out, const struct lane_message *message) {
  put_number(out, message->ms);
  put(out, "-", 1);
  put_number(out, message->seq);
}

static void put_string(struct out *out, const uint8_t *bytes, size_t length) {
  put(out, "\"", 1);
  put(out, bytes, length);
  put(out, "\"", 1);
}

size_t lane_message_frame(uint8_t *buffer, size_t capacity, const struct lane_message *message, const char *node_json, const char *region_json,
                          size_t *json_start, size_t *json_length) {
  struct out out = {buffer, buffer + capacity, false};
  // The message's keys in the order every broker makes them (message-json.ts): the same text as
  // JSON.stringify, since the lane takes only strings with nothing to escape.
  put_text(&out, "id: ");
  put_id(&out, message);
  put_text(&out, "\ndata: ");
  uint8_t *json = out.at;
  put_text(&out, "{\"id\":\"");
  put_id(&out, message);
  put_text(&out, "\",\"stream\":");
  put_string(&out, message->stream, message->stream_length);
  put_text(&out, ",\"author\":");
  put_string(&out, message->author, message->author_length);
  put_text(&out, ",\"text\":");
  put_string(&out, message->text, message->text_length);
  put_text(&out, ",\"ts\":");
  put_number(&out, message->ms);
  put_text(&out, ",\"node\":");
  put_text(&out, node_json);
  put_text(&out, ",\"region\":");
  put_text(&out, region_json);
  put_text(&out, "}");
  *json_start = (size_t)(json - buffer);
  *json_length = (size_t)(out.at - json);
  put_text(&out, "\n\n");
  return out.full ? 0 : (size_t)(out.at - buffer);
}

// Date.prototype.toUTCString, as raw-response.ts's httpDate writes the Date header.
static void put_http_date(struct out *out, uint64_t ms) {
  static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  time_t seconds = (time_t)(ms / 1000);
  struct tm tm;
  char text[40];
  if (!gmtime_r(&seconds, &tm)) {
    out->full = true;
    return;
  }
  int length = snprintf(text, sizeof text, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900,
                        tm.tm_hour, tm.tm_min, tm.tm_sec);
  if (length <= 0 || (size_t)length >= sizeof text) out->full = true;
  else put(out, text, (size_t)length);
}

size_t lane_created_answer(uint8_t *buffer, size_t capacity, const struct lane_message *message, const uint8_t *json, size_t json_length,
                           uint32_t keep_alive_seconds, uint64_t now_ms) {
  struct out out = {buffer, buffer + capacity, false};
  put_text(&out, "HTTP/1.1 201 Created\r\nLocation: /streams/");
  put(&out, message->stream, message->stream_length);
  put_text(&out, "/messages?after=");
  put_id(&out, message);
  put_text(&out, "\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ");
  put_number(&out, json_length);
  put_text(&out, "\r\nDate: ");
  put_http_date(&out, now_ms);
  put_text(&out, "\r\nConnection: keep-alive\r\nKeep-Alive: timeout=");
  put_number(&out, keep_alive_seconds);
  put_text(&out, "\r\n\r\n");
  put(&out, json, json_length);
  return out.full ? 0 : (size_t)(out.at - buffer);
}
