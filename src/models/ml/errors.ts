/**
 * Input the user must fix (a horizon longer than the data, an all-null target, one class only, ...). The pointer
 * is a JSON pointer into the training request (e.g. `/target`, `/horizon`), so the API answers 400 with it.
 */
export class TrainingInputError extends Error {
  constructor(
    readonly pointer: string,
    message: string,
  ) {
    super(message);
    this.name = 'TrainingInputError';
  }
}
