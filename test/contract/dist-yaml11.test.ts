/**
 * dist/ as a YAML 1.1 parser reads it: PyYAML (the parser of many Python-based Kubernetes tools)
 * loads every file and finds the same objects as the YAML 1.2 parser the chart uses. A plain `=`
 * or `<<` (the value and merge key types of YAML 1.1) or an unquoted yes/no would fail or differ.
 */
import { execFileSync } from 'child_process';
import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { parseAllDocuments } from 'yaml';
import { chatServicePython, describeWithChatService } from '../support/chat-service';

const DIST = join(__dirname, '..', '..', 'dist');
const files = readdirSync(DIST).filter((f) => f.endsWith('.yaml')).sort();

describeWithChatService('dist/ read by a YAML 1.1 parser (PyYAML)', [], () => {
  it.each(files.map((f) => [f]))('%s: PyYAML loads the same objects', (file) => {
    const script = 'import json, sys, yaml; print(json.dumps([d for d in yaml.safe_load_all(open(sys.argv[1])) if d is not None]))';
    const viaPyYaml = JSON.parse(execFileSync(chatServicePython(), ['-c', script, join(DIST, file)], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }));
    const viaYaml12 = parseAllDocuments(readFileSync(join(DIST, file), 'utf8')).map((d) => d.toJSON()).filter((d) => d !== null);
    expect(viaPyYaml).toEqual(viaYaml12);
  });
});
