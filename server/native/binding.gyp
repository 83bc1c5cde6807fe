{
  "targets": [
    {
      "target_name": "scheduler",
      "sources": ["scheduler.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
