import { Type } from 'typebox';
import { Id, NullableString, StringEnum } from '../http/schema-types.js';
import { MAX_PASSWORD_LENGTH } from './passwords.js';
import { ALL_PERMISSIONS, ROLES } from './permissions.js';

const Email = Type.String({
  minLength: 3,
  maxLength: 254,
  pattern: '^[^\\s@]+@[^\\s@]+$',
  description: 'Email address (case-insensitive)',
});
const Password = Type.String({ minLength: 1, maxLength: MAX_PASSWORD_LENGTH });
const NewPassword = Type.String({
  minLength: 10,
  maxLength: MAX_PASSWORD_LENGTH,
  description: 'At least 10 characters',
});
export const RoleSchema = StringEnum(ROLES, { description: 'Workspace role' });
const PermissionSchema = StringEnum(ALL_PERMISSIONS);
const Cidr = Type.String({ minLength: 2, maxLength: 64, description: 'IPv4 or IPv6 address or CIDR block' });

export const UserSchema = Type.Object(
  {
    id: Type.String(),
    email: Type.String(),
    displayName: Type.String(),
    instanceAdmin: Type.Boolean(),
    disabled: Type.Boolean(),
    createdAt: Type.String({ format: 'date-time' }),
    lastLoginAt: NullableString({ format: 'date-time' }),
  },
  { $id: 'User' },
);

export const WorkspaceSchema = Type.Object(
  {
    id: Type.String(),
    slug: Type.String(),
    name: Type.String(),
    ipAllow: Type.Array(Type.String()),
    ipDeny: Type.Array(Type.String()),
    createdAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'Workspace' },
);

export const WorkspaceWithRoleSchema = Type.Object(
  { ...WorkspaceSchema.properties, role: RoleSchema },
  { $id: 'WorkspaceWithRole' },
);

export const MemberSchema = Type.Object(
  {
    userId: Type.String(),
    email: Type.String(),
    displayName: Type.String(),
    role: RoleSchema,
    addedAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'Member' },
);

export const InvitationSchema = Type.Object(
  {
    id: Type.String(),
    workspaceId: Type.String(),
    workspaceName: Type.String(),
    email: Type.String(),
    role: RoleSchema,
    status: StringEnum(['pending', 'accepted', 'declined', 'revoked', 'expired'] as const, {
      description: '`expired`: pending past expiresAt',
    }),
    invitedBy: NullableString({ description: 'User id of the member who sent it' }),
    invitedByEmail: NullableString(),
    createdAt: Type.String({ format: 'date-time' }),
    expiresAt: Type.String({ format: 'date-time' }),
    respondedAt: NullableString({ format: 'date-time', description: 'When it was accepted, declined or revoked' }),
  },
  { $id: 'Invitation' },
);

export const ApiKeySchema = Type.Object(
  {
    id: Type.String(),
    workspaceId: Type.String(),
    name: Type.String(),
    prefix: Type.String({ description: 'Recognizable start of the key' }),
    scopes: Type.Array(PermissionSchema),
    createdBy: Type.String(),
    createdAt: Type.String({ format: 'date-time' }),
    expiresAt: NullableString({ format: 'date-time' }),
    revokedAt: NullableString({ format: 'date-time' }),
    lastUsedAt: NullableString({ format: 'date-time', description: 'Updated at most once a minute' }),
  },
  { $id: 'ApiKey' },
);

export const TokenResponse = Type.Object({
  accessToken: Type.String(),
  tokenType: Type.Literal('Bearer'),
  expiresIn: Type.Integer({ description: 'Seconds' }),
  refreshToken: Type.String({ description: 'Also set as an httpOnly cookie for browsers' }),
  refreshExpiresAt: Type.String({ format: 'date-time' }),
  user: Type.Ref('User'),
});

export const LoginBody = Type.Object({ email: Email, password: Password }, { additionalProperties: false });
export const RefreshBody = Type.Object(
  { refreshToken: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Omit to use the cookie' })) },
  { additionalProperties: false },
);

export const MeResponse = Type.Object({
  user: Type.Ref('User', {
    description:
      'The signed-in user; for an API key, the user who created it (the key holds none of their instance-wide rights)',
  }),
  workspace: Type.Object({
    id: Type.String(),
    role: Type.Union([RoleSchema, Type.Literal('machine'), Type.Null()]),
    permissions: Type.Array(PermissionSchema, {
      description: "What this caller may do here: for an API key, its scopes within its creator's current role",
    }),
  }),
  workspaces: Type.Array(Type.Ref('WorkspaceWithRole')),
  via: StringEnum(['jwt', 'apiKey'] as const),
  apiKeyId: NullableString(),
  apiKey: Type.Union([Type.Ref('ApiKey'), Type.Null()], {
    description: 'The API key the request authenticated with (never its secret); null for a login session',
  }),
});

export const WorkspaceParams = Type.Object({ workspaceId: Type.String({ pattern: '^ws_[A-Za-z0-9]{1,40}$' }) });
export const MemberParams = Type.Object({
  workspaceId: Type.String({ pattern: '^ws_[A-Za-z0-9]{1,40}$' }),
  userId: Type.String({ pattern: '^usr_[A-Za-z0-9]{1,40}$' }),
});
export const KeyParams = Type.Object({ id: Id('key', 'API key id') });
export const InvitationParams = Type.Object({ id: Id('inv', 'Invitation id') });
export const WorkspaceInvitationParams = Type.Object({
  workspaceId: Type.String({ pattern: '^ws_[A-Za-z0-9]{1,40}$' }),
  id: Id('inv', 'Invitation id'),
});

export const CreateWorkspaceBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    slug: Type.Optional(Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,47}$' })),
  },
  { additionalProperties: false },
);

export const PatchWorkspaceBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    ipAllow: Type.Optional(
      Type.Array(Cidr, { maxItems: 256, description: 'Only these addresses may use the workspace; empty = any' }),
    ),
    ipDeny: Type.Optional(
      Type.Array(Cidr, { maxItems: 256, description: 'These addresses may not; deny wins over allow' }),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const AddMemberBody = Type.Object(
  {
    email: Email,
    role: RoleSchema,
    password: Type.Optional(
      Type.String({
        minLength: 10,
        maxLength: MAX_PASSWORD_LENGTH,
        description:
          'At least 10 characters: creates the account (instance admins only); without it, the person is invited',
      }),
    ),
    displayName: Type.Optional(
      Type.String({ minLength: 1, maxLength: 200, description: "With password: the new account's display name" }),
    ),
  },
  { additionalProperties: false },
);
export const InviteBody = Type.Object({ email: Email, role: RoleSchema }, { additionalProperties: false });
export const AcceptedInvitationResponse = Type.Object({
  invitation: Type.Ref('Invitation'),
  workspace: Type.Ref('WorkspaceWithRole'),
});
export const ChangeRoleBody = Type.Object({ role: RoleSchema }, { additionalProperties: false });

export const CreateUserBody = Type.Object(
  {
    email: Email,
    password: NewPassword,
    displayName: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    instanceAdmin: Type.Optional(Type.Boolean()),
    workspaceId: Type.Optional(Type.String({ pattern: '^ws_[A-Za-z0-9]{1,40}$' })),
    role: Type.Optional(RoleSchema),
  },
  { additionalProperties: false },
);

export const CreateKeyBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    scopes: Type.Optional(
      Type.Array(Type.String({ maxLength: 64 }), {
        maxItems: 64,
        description: 'Permissions; default: all a key may hold that you hold',
      }),
    ),
    expiresAt: Type.Optional(Type.String({ format: 'date-time' })),
  },
  { additionalProperties: false },
);
export const CreatedKeyResponse = Type.Object({
  key: Type.Ref('ApiKey'),
  token: Type.String({ description: 'The key itself: shown once, never again' }),
});

export const PageQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
  offset: Type.Integer({ minimum: 0, default: 0 }),
});

export const PermissionsResponse = Type.Object({
  permissions: Type.Array(Type.Object({ name: PermissionSchema, description: Type.String() })),
  roles: Type.Array(Type.Object({ name: Type.String(), permissions: Type.Array(PermissionSchema) })),
});
