import type { Queryable } from '../db/database.ts';
import { AppError, isUniqueViolation } from '../errors.ts';

export type ClientMetadata = Record<string, unknown> & { client_id: string };

export interface StoredClient {
  id: string;
  metadata: ClientMetadata;
  createdAt: Date;
  updatedAt: Date;
}

interface ClientRow {
  id: string;
  metadata: ClientMetadata;
  created_at: Date;
  updated_at: Date;
}

const toClient = (row: ClientRow): StoredClient => ({ id: row.id, metadata: row.metadata, createdAt: row.created_at, updatedAt: row.updated_at });

export async function insertClient(db: Queryable, metadata: ClientMetadata): Promise<StoredClient> {
  try {
    const { rows } = await db.query<ClientRow>('INSERT INTO clients (id, metadata) VALUES ($1, $2) RETURNING *', [metadata.client_id, metadata]);
    return toClient(rows[0]!);
  } catch (error) {
    if (isUniqueViolation(error)) throw new AppError('client.exists', `client ${metadata.client_id} already exists`);
    throw error;
  }
}

export async function findClientMetadataById(db: Queryable, id: string): Promise<ClientMetadata | null> {
  const { rows } = await db.query<{ metadata: ClientMetadata }>('SELECT metadata FROM clients WHERE id = $1', [id], { name: 'client-metadata' });
  return rows[0]?.metadata ?? null;
}

/** The client; `forUpdate` locks its row until the surrounding transaction ends (read-modify-write). */
export async function findClientById(db: Queryable, id: string, options: { forUpdate?: boolean } = {}): Promise<StoredClient | null> {
  const { rows } = await db.query<ClientRow>(`SELECT * FROM clients WHERE id = $1${options.forUpdate ? ' FOR UPDATE' : ''}`, [id]);
  return rows[0] ? toClient(rows[0]) : null;
}

export async function listClients(db: Queryable): Promise<StoredClient[]> {
  const { rows } = await db.query<ClientRow>('SELECT * FROM clients ORDER BY id');
  return rows.map(toClient);
}

/** Replaces a client's metadata; null when there is no such client. */
export async function updateClientMetadata(db: Queryable, metadata: ClientMetadata): Promise<StoredClient | null> {
  const { rows } = await db.query<ClientRow>('UPDATE clients SET metadata = $2, updated_at = now() WHERE id = $1 RETURNING *', [metadata.client_id, metadata]);
  return rows[0] ? toClient(rows[0]) : null;
}

export async function deleteClientById(db: Queryable, id: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM clients WHERE id = $1', [id]);
  return rowCount > 0;
}
