// RFC 9110's tchar, the bytes of a method and a header name: for both parts that read request heads.
#ifndef SSE_CHAT_HTTP_TOKEN_H
#define SSE_CHAT_HTTP_TOKEN_H
#include <stdbool.h>
#include <stdint.h>

static inline bool is_token(uint8_t c) {
  if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

#endif
