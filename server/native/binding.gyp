{
  "targets": [
    {
      "target_name": "scheduler",
      "sources": ["scheduler.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    },
    {
      "target_name": "socket_writer",
      "sources": ["socket-writer.c", "send-now.h", "typed-array.h"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    },
    {
      "target_name": "http_head",
      "sources": ["http-head.c", "http-token.h", "typed-array.h"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    },
    {
      "target_name": "post_lane",
      "sources": ["post-lane.c", "lane-rooms.c", "lane-rooms.h", "send-now.h", "http-token.h"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
