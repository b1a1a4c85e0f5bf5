import type { AccountService } from '../../accounts/service.ts';
import type { MfaService } from '../../mfa/service.ts';
import type { AuditLog } from '../../audit/service.ts';
import type { AccountSettings } from '../../accounts/settings.ts';
import type { AccountActivity } from '../../audit/activity.ts';
import type { SessionService } from '../../sessions/service.ts';
import type { ConnectedApps } from '../../connected-apps/service.ts';
import type { AccountLinks } from '../../federation/account-links.ts';
import type { AccountExporter } from '../../account-data/export.ts';
import type { AccountDeletion } from '../../account-data/deletion.ts';

/** What the account API's operations need: the services the console's pages call. Wired in src/deps.ts. */
export interface AccountApiDeps {
  accounts: AccountService;
  mfa: MfaService;
  audit: AuditLog;
  settings: AccountSettings;
  accountActivity: AccountActivity;
  deviceSessions: SessionService;
  connectedApps: ConnectedApps;
  accountLinks: AccountLinks;
  accountExport: AccountExporter;
  accountDeletion: AccountDeletion;
}
