# The broker image: Node 24 comes from the project's own `node` dependency, like on a developer machine.
FROM node:24-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev
COPY bin ./bin
COPY src ./src
COPY schema ./schema
COPY masking-rules ./masking-rules
ENV NODE_ENV=production PORT=4000 KEYHOLE_DATA_DIR=/var/lib/keyhole
EXPOSE 4000
HEALTHCHECK --interval=10s --timeout=3s --retries=5 CMD node -e "fetch('http://127.0.0.1:4000/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["npm", "start"]
