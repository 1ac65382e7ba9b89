import { mediaFeature } from './media/feature.ts';
import { roomLogFeature } from './roomlog/feature.ts';
import { sfuFeature } from './sfu/feature.ts';
import type { FeatureFactory } from './featureTypes.ts';

export type { Feature, FeatureContext, FeatureFactory } from './featureTypes.ts';

/** The features this server runs, in start order. */
export const FEATURES: FeatureFactory[] = [roomLogFeature, mediaFeature, sfuFeature];
