/** @assetops/asset — the Asset service: asset identity, metadata, lifecycle and onboarding saga. */
export { assetConfigSpec } from './asset.config.js';
export { assetService, createAssetService } from './asset.service.js';
export { canTransition, transitions } from './assets/asset.decide.js';
