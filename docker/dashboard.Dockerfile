# syntax=docker/dockerfile:1
# The React dashboard: a Vite build served by nginx, which also proxies /api and /ws to the API.
FROM node:20-bookworm-slim AS build
WORKDIR /src/dashboard
COPY dashboard/package.json dashboard/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY dashboard/ ./
RUN npm run build

FROM nginx:1.27-alpine
COPY docker/nginx/dashboard.conf /etc/nginx/conf.d/default.conf
COPY --from=build /src/dashboard/dist /usr/share/nginx/html
EXPOSE 80
