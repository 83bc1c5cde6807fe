// The rooms whose viewers the post lane writes to itself (lane-rooms.c): for each stream the Hub
// mirrors here, the newest id it gave and the descriptors of its JSON viewers. No Node API in it.
#ifndef SSE_CHAT_LANE_ROOMS_H
#define SSE_CHAT_LANE_ROOMS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// A stream name as STREAM_NAME allows it.
#define LANE_ROOM_NAME_BYTES 64

struct lane_rooms;

struct lane_rooms *lane_rooms_new(void);
void lane_rooms_free(struct lane_rooms *rooms);

// A room for the stream: its index, or -1 (no memory, a name too long, or one open already).
// Its newest id is unknown until lane_rooms_advance: the lane writes nothing for it till then.
int32_t lane_rooms_open(struct lane_rooms *rooms, const uint8_t *name, size_t length);
// Closes the room and forgets its viewers.
void lane_rooms_close(struct lane_rooms *rooms, int32_t room);
// The stream gave this id (JavaScript published a message on it); an id not past the room's newest is ignored.
void lane_rooms_advance(struct lane_rooms *rooms, int32_t room, uint64_t ms, uint64_t seq);
// The room's index, or -1.
int32_t lane_rooms_find(const struct lane_rooms *rooms, const uint8_t *name, size_t length);
// A viewer of the room on this descriptor, under the caller's id (an index into the clean flags).
bool lane_rooms_watch(struct lane_rooms *rooms, int32_t room, int32_t watch, int fd);
void lane_rooms_unwatch(struct lane_rooms *rooms, int32_t watch);

// The id the room's next message gets at wall-clock `now_ms`, taken (as ids.ts's nextId); false
// while the room's newest id is unknown or it has more viewers than `max_viewers`.
bool lane_rooms_next_id(struct lane_rooms *rooms, int32_t room, uint64_t now_ms, uint32_t max_viewers, uint64_t *ms, uint64_t *seq);
// How many of the room's viewers are flagged clean (nothing of theirs queued anywhere else); 0 for
// a room with more than `max_viewers`.
uint32_t lane_rooms_clean_viewers(const struct lane_rooms *rooms, int32_t room, uint32_t max_viewers, const uint8_t *clean, size_t clean_length);
// Sends the frame to every clean viewer of the room; each one's (watch id, outcome) into results,
// two entries each: the bytes the kernel did not take (0: all), or -errno. Returns how many viewers it wrote to.
uint32_t lane_rooms_send(const struct lane_rooms *rooms, int32_t room, uint8_t *clean, size_t clean_length, const uint8_t *frame,
                         size_t frame_length, int32_t *results, uint32_t max_results);

// What a message's frame needs besides the post: the node's and region's JSON strings.
struct lane_message {
  uint64_t ms;
  uint64_t seq;
  const uint8_t *stream;
  size_t stream_length;
  const uint8_t *author;
  size_t author_length;
  const uint8_t *text;
  size_t text_length;
};

// The frame encodeJsonEvent(id, messageJson(message)) makes, for a post whose strings need no
// escape (what the lane takes): its length, or 0 when it does not fit in `capacity`. The message's
// JSON is at *json_start, *json_length bytes long.
size_t lane_message_frame(uint8_t *out, size_t capacity, const struct lane_message *message, const char *node_json, const char *region_json,
                          size_t *json_start, size_t *json_length);
// The 201 the fast path answers such a post with on a kept-alive connection with no rate limit
// (messages-fast-path.ts, raw-response.ts), its JSON given, dated `now_ms`: its length, or 0 when
// it does not fit.
size_t lane_created_answer(uint8_t *out, size_t capacity, const struct lane_message *message, const uint8_t *json, size_t json_length,
                           uint32_t keep_alive_seconds, uint64_t now_ms);

#endif
