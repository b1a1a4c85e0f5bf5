// What each scope lets the application do, in words a person can judge on the consent page.
const descriptions: Record<string, string> = {
  openid: 'Know who you are when you sign in',
  profile: 'See your name, profile picture and language',
  email: 'See your email address and whether it is verified',
  roles: 'See the roles you hold in this organisation',
  offline_access: 'Stay connected after you close it, until you revoke access',
};

export function describeScope(scope: string): string {
  return descriptions[scope] ?? `Use the “${scope}” permission`;
}
