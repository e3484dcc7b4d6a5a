export * from './profile.js';
export * from './profile-builder.js';
