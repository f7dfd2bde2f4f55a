/** Snapshots of every synthesized chart: a review sees any change to any manifest field. */
import { synthCharts } from '../support/manifests';

describe('synthesized manifests', () => {
  for (const [chart, objects] of synthCharts()) {
    it(`${chart} matches its snapshot`, () => {
      expect(objects).toMatchSnapshot();
    });
  }
});
