/** @assetops/asset — the Asset service: asset identity, metadata and lifecycle. */
export { assetService, createAssetService } from './asset.service.js';
export { canTransition, transitions } from './assets/asset.decide.js';
