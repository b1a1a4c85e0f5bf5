import type { Adapter, AdapterPayload } from 'oidc-provider';

/**
 * How long a device code's record outlives the code. RFC 8628 §3.5 answers a poll with an expired
 * code `expired_token` (so the device tells the person to start again), and oidc-provider says so
 * when it finds the record with its `exp` passed; our stores drop a record when its TTL ends, which
 * would turn that into `invalid_grant`. The payload keeps its own expiry, so nothing is accepted late.
 */
export const EXPIRED_DEVICE_CODE_KEPT_SECONDS = 600;

export function keepExpiredDeviceCodes(adapter: Adapter): Adapter {
  return {
    upsert: (id: string, payload: AdapterPayload, expiresIn: number) => adapter.upsert(id, payload, expiresIn + EXPIRED_DEVICE_CODE_KEPT_SECONDS),
    find: (id) => adapter.find(id),
    findByUid: (uid) => adapter.findByUid(uid),
    findByUserCode: (userCode) => adapter.findByUserCode(userCode),
    consume: (id) => adapter.consume(id),
    destroy: (id) => adapter.destroy(id),
    revokeByGrantId: (grantId) => adapter.revokeByGrantId(grantId),
  };
}
