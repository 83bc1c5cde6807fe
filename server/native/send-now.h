// send(2) as the native parts write to sockets, shared by socket-writer.c and the post lane.
#ifndef SSE_CHAT_SEND_NOW_H
#define SSE_CHAT_SEND_NOW_H
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

// send(2) that never blocks (MSG_DONTWAIT, whatever the descriptor's flags) and never raises
// SIGPIPE on a closed peer (MSG_NOSIGNAL): how many bytes the kernel took (0 when its buffer is
// full for now), or -errno. The caller hands what is left to Node's own write, or closes the
// socket with the error.
static inline int64_t send_now(int fd, const void *data, size_t length) {
  ssize_t sent;
  do {
    sent = send(fd, data, length, MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (sent < 0 && errno == EINTR);
  // As libuv's writes: a full buffer, or no memory for one just now, is a write to retry later.
  return sent >= 0 ? (int64_t)sent : (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS ? 0 : -(int64_t)errno);
}

#endif
