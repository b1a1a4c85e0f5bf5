import { randomState } from 'openid-client';

/*
 * The account console links an upstream account through the same redirect URI as the sign-in
 * (upstreamRedirectUri, src/interactions/federation-start.ts), so operators register one URL per
 * upstream. The relay on that URL tells the two apart by the state alone: the sign-in's begins
 * with an interaction uid (8 characters or more), the console's with this 7-letter word, which
 * can never be one.
 */
const PREFIX = 'account.';
const CONSOLE_STATE = /^account\.[A-Za-z0-9_-]{43}$/;

/** A fresh state for a link started from the console. */
export const newConsoleLinkState = (): string => `${PREFIX}${randomState()}`;

export const isConsoleLinkState = (state: unknown): state is string => typeof state === 'string' && CONSOLE_STATE.test(state);

/**
 * Where the relay forwards a console link's answer: under /account, where the console's cookies
 * are sent (they are scoped to that path, src/account/cookies.ts).
 */
export const consoleLinkCallbackPath = (upstreamId: string): string => `/account/linked/${encodeURIComponent(upstreamId)}/callback`;
