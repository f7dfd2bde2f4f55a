/** The bench's raw dashboard variant: recorded series read instantly become their rules' expressions; one read over a range stays. */
import { withoutRecordingRules } from '../../bench/dashboard-load';
import { RuleGroup } from '../../bench/lib/chart-output';

const groups: RuleGroup[] = [{
  name: 'chat-auth.recording',
  rules: [
    { record: 'service:req:rate1m', expr: 'sum by (service) (rate(req_count{service="chat-auth"}[1m]))' },
    { record: 'service:err:ratio_rate1m', expr: 'service:err:rate1m{service="chat-auth"} / service:req:rate1m{service="chat-auth"}' },
    { record: 'service:err:rate1m', expr: 'sum by (service) (rate(req_count{service="chat-auth",code=~"5.."}[1m]))' },
    { record: 'service:err:ratio_rate30d', expr: 'avg_over_time(service:err:ratio_rate1m{service="chat-auth"}[30d])' },
  ],
}] as RuleGroup[];

describe('bench: a dashboard without recording rules', () => {
  const expand = withoutRecordingRules(groups);
  it('replaces a recorded series read instantly by its rule, recursively', () => {
    expect(expand('service:err:ratio_rate1m{service="chat-auth"}')).toBe(
      '((sum by (service) (rate(req_count{service="chat-auth",code=~"5.."}[1m]))) / (sum by (service) (rate(req_count{service="chat-auth"}[1m]))))');
  });
  it('keeps a recorded series read over a range (PromQL takes a range only of a series)', () => {
    expect(expand('1 - service:err:ratio_rate30d{service="chat-auth"}')).toBe('1 - (avg_over_time(service:err:ratio_rate1m{service="chat-auth"}[30d]))');
  });
});
