export { type RateLimited, RateLimiter } from './limiter.ts';
