# syntax=docker/dockerfile:1
# Build stage: compile TypeScript with the dev dependencies, then keep only production ones.
# Node 24, the newest LTS line the whole suite runs on: Node 20 reached its end of life on
# 2026-04-30, and an image ships its runtime's security fixes only while that line gets them.
FROM node:24-bookworm-slim AS build
WORKDIR /app
# node-gyp builds the native parts (server/native: event loop slice, direct socket writes, request head scan, post lane) during npm ci.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
COPY server/native/binding.gyp server/native/build.mjs server/native/scheduler.c server/native/socket-writer.c server/native/http-head.c server/native/post-lane.c server/native/lane-rooms.c server/native/lane-rooms.h server/native/send-now.h server/native/http-token.h server/native/typed-array.h ./server/native/
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY server ./server
COPY test ./test
COPY bench ./bench
RUN npm run build && npm prune --omit=dev

# Runtime stage: compiled server, production modules and static assets, as a non-root user.
FROM node:24-bookworm-slim
ENV NODE_ENV=production PORT=3000 HOST=0.0.0.0
WORKDIR /app
COPY --from=build --chown=node:node /app/package.json ./
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist/server ./dist/server
# Empty where the hint could not be built; the server then runs without it.
COPY --from=build --chown=node:node /app/server/native/build/Release ./server/native/build/Release
COPY --chown=node:node public ./public
USER node
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
STOPSIGNAL SIGTERM
CMD ["node", "--max-semi-space-size=4", "dist/server/main.js"]
