import type { components } from '../../api/schema';

export type Dataset = components['schemas']['Dataset'];
export type DatasetVersion = components['schemas']['DatasetVersion'];

/** What the dataset page hands each of its tabs: the dataset and the version being looked at. */
export interface DatasetTabProps {
  dataset: Dataset;
  /** The selected version (`?version=`), or the current one. */
  version: DatasetVersion;
}
