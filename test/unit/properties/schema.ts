/** Every object a config synthesizes is valid against its schema (test/unit/support/schema.ts). */
import { ChartConfig } from '../../../lib/config';
import { synthObjects } from '../../support/manifests';
import { schemaProblems } from '../support/schema';

export function schemaProperties(name: string, config: ChartConfig): void {
  describe(`schema (${name})`, () => {
    it('finds every synthesized object valid', () => {
      const objects = synthObjects(config);
      expect(objects.length).toBeGreaterThan(30);
      expect(schemaProblems(objects)).toEqual([]);
    });
  });
}
